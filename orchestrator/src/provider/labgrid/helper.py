# lwm's bridge to a labgrid coordinator, run by orchestrator/src/provider/labgrid/client.rs
# with the Python that has labgrid installed (scripts/setup-labgrid.sh):
#
#   python3 -c "$(this file)" ACTION COORDINATOR PLACE
#
# ACTION is `show`, `acquire` or `release`. It prints exactly one JSON line on
# stdout and exits 0, whatever happened:
#
#   {"ok": true, "place": {...}}                  the place (after the action)
#   {"ok": false, "kind": KIND, "message": ..., "holder": ...}
#
# KIND: no_labgrid, unreachable, unknown_place, held, failed. The place is
# looked up by its exact name (labgrid-client's -p matches substrings and
# aliases). `acquire` refuses a place acquired by anyone, this user included.
# `release` releases only a place this user holds (fromuser), so it never
# kicks someone who took the place since. The identity is labgrid's own:
# HOST/USER, from LG_HOSTNAME and LG_USERNAME when set.
import asyncio
import json
import sys


def emit(doc):
    sys.stdout.write(json.dumps(doc) + "\n")
    sys.stdout.flush()


def refuse(kind, message, holder=None):
    emit({"ok": False, "kind": kind, "message": message, "holder": holder})
    sys.exit(0)


try:
    import grpc
    from labgrid.remote.client import start_session
    from labgrid.remote.generated import labgrid_coordinator_pb2 as pb2
except ImportError as e:
    refuse("no_labgrid", f"this Python cannot import labgrid ({e})")


def place_doc(session, place):
    """The place and every NetworkService resource it matches (acquired ones
    when the place is acquired)."""
    services = []
    for exporter, groups in sorted(session.resources.items()):
        for group_name, group in sorted(groups.items()):
            for name, resource in sorted(group.items()):
                path = (exporter, group_name, resource.cls, name)
                match = place.getmatch(path)
                if match is None or resource.cls != "NetworkService":
                    continue
                params = resource.params
                services.append(
                    {
                        "path": "/".join(path),
                        "address": str(params.get("address", "")),
                        "port": int(params.get("port", 22)),
                        "username": str(params.get("username", "")),
                        "available": bool(resource.avail),
                        "proxy_required": bool(params.get("extra", {}).get("proxy_required", False)),
                    }
                )
    return {
        "name": place.name,
        "tags": dict(place.tags),
        "acquired": place.acquired,
        "me": f"{session.gethostname()}/{session.getuser()}",
        "network_services": services,
    }


async def act(session, action, place):
    if action == "acquire":
        if place.acquired:
            refuse("held", f"place {place.name} is acquired by {place.acquired}", place.acquired)
        try:
            await session.stub.AcquirePlace(pb2.AcquirePlaceRequest(placename=place.name))
        except grpc.aio.AioRpcError as e:
            # Someone was quicker, or a resource is another place's.
            await session.sync_with_coordinator()
            holder = session.places[place.name].acquired
            kind = "held" if holder else "failed"
            refuse(kind, f"place {place.name}: {e.details()}", holder)
        await session.sync_with_coordinator()
    elif action == "release":
        me = f"{session.gethostname()}/{session.getuser()}"
        request = pb2.ReleasePlaceRequest(placename=place.name, fromuser=me)
        try:
            await session.stub.ReleasePlace(request)
        except grpc.aio.AioRpcError as e:
            refuse("failed", f"place {place.name}: {e.details()}")
        await session.sync_with_coordinator()


def main():
    if len(sys.argv) != 4 or sys.argv[1] not in ("show", "acquire", "release"):
        refuse("failed", "usage: helper (show|acquire|release) COORDINATOR PLACE")
    action, coordinator, name = sys.argv[1:]
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    try:
        session = start_session(coordinator, loop=loop)
    except Exception as e:  # labgrid raises its own ServerError, grpc its errors
        refuse("unreachable", f"coordinator {coordinator} does not answer ({e})")
    try:
        place = session.places.get(name)
        if place is None:
            known = ", ".join(sorted(session.places)) or "none"
            refuse("unknown_place", f"no place {name} on coordinator {coordinator} (places: {known})")
        loop.run_until_complete(act(session, action, place))
        emit({"ok": True, "place": place_doc(session, session.places[name])})
    finally:
        loop.run_until_complete(session.stop())
        loop.run_until_complete(session.close())


main()
