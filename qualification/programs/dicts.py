"""A real program for `output-identical`: builds, sorts and serialises
many small Python objects (dicts, strings, lists), then prints a digest and
a few lines. Its output depends only on its input, never on the allocator."""

import hashlib
import json
import random

rng = random.Random(42)
records = []
for i in range(60000):
    tags = ["t%d" % rng.randrange(500) for _ in range(rng.randrange(1, 8))]
    records.append({"id": i, "name": "sensor-%05d" % rng.randrange(100000), "tags": tags,
                    "value": rng.random() * 1000})
index = {}
for r in records:
    for t in r["tags"]:
        index.setdefault(t, []).append(r["id"])
records.sort(key=lambda r: (r["name"], r["id"]))
text = json.dumps(records, sort_keys=True)
print("records", len(records), "tags", len(index))
print("busiest tag", max(sorted(index), key=lambda t: len(index[t])))
print("sha256", hashlib.sha256(text.encode()).hexdigest())
