//! A labgrid place as the helper describes it, and the one NetworkService
//! lwm reaches the board through.

use std::collections::BTreeMap;

use serde::Deserialize;

/// A place on the coordinator.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Place {
    pub name: String,
    /// `key=value` tags (`labgrid-client set-tags`).
    pub tags: BTreeMap<String, String>,
    /// Who holds it, `HOST/USER`, if anyone.
    pub acquired: Option<String>,
    /// The helper's own identity, `HOST/USER` (labgrid's `LG_HOSTNAME` and
    /// `LG_USERNAME` when set).
    pub me: String,
    /// The NetworkService resources the place matches (or holds).
    pub network_services: Vec<NetworkService>,
}

/// A NetworkService resource: an sshd somewhere in the lab.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct NetworkService {
    /// `EXPORTER/GROUP/NetworkService/NAME`.
    pub path: String,
    pub address: String,
    pub port: u16,
    pub username: String,
    /// The exporter reports it present.
    pub available: bool,
    /// Reachable only through the exporter (an `address%interface`).
    pub proxy_required: bool,
}

impl Place {
    /// Whether this lwm (its labgrid identity) holds the place.
    pub fn held_by_me(&self) -> bool {
        self.acquired.as_deref() == Some(self.me.as_str())
    }

    /// The NetworkService lwm logs in to: the place must have exactly one,
    /// present and reachable directly. The reason otherwise, one line.
    pub fn network_service(&self) -> Result<&NetworkService, String> {
        let ns = match self.network_services.as_slice() {
            [one] => one,
            [] => {
                return Err(format!(
                    "place {} has no NetworkService resource (add one to its exporter's config, then: labgrid-client -p {} add-match EXPORTER/GROUP/NetworkService)",
                    self.name, self.name
                ))
            }
            many => {
                let paths: Vec<&str> = many.iter().map(|n| n.path.as_str()).collect();
                return Err(format!(
                    "place {} has {} NetworkService resources ({}); lwm needs exactly one",
                    self.name,
                    many.len(),
                    paths.join(", ")
                ));
            }
        };
        if !ns.available {
            return Err(format!(
                "place {}: NetworkService {} is not available (is its exporter running?)",
                self.name, ns.path
            ));
        }
        if ns.proxy_required {
            return Err(format!(
                "place {}: NetworkService {} ({}) is reachable only through its exporter, which lwm does not do",
                self.name, ns.path, ns.address
            ));
        }
        if ns.address.is_empty() || ns.username.is_empty() || ns.port == 0 {
            return Err(format!(
                "place {}: NetworkService {} lacks an address, a username or a port",
                self.name, ns.path
            ));
        }
        Ok(ns)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn service(path: &str) -> NetworkService {
        NetworkService {
            path: path.into(),
            address: "192.0.2.7".into(),
            port: 22,
            username: "pi".into(),
            available: true,
            proxy_required: false,
        }
    }

    fn place(services: Vec<NetworkService>, acquired: Option<&str>) -> Place {
        Place {
            name: "p".into(),
            tags: BTreeMap::new(),
            acquired: acquired.map(str::to_string),
            me: "host/me".into(),
            network_services: services,
        }
    }

    #[test]
    fn exactly_one_usable_network_service() {
        let one = place(vec![service("e/g/NetworkService/a")], None);
        assert_eq!(one.network_service().unwrap().address, "192.0.2.7");
        let none = place(vec![], None).network_service().unwrap_err();
        assert!(
            none.contains("no NetworkService") && none.contains("add-match"),
            "{none}"
        );
        let two = place(
            vec![
                service("e/g/NetworkService/a"),
                service("e/g/NetworkService/b"),
            ],
            None,
        );
        let e = two.network_service().unwrap_err();
        assert!(e.contains("2 NetworkService") && e.contains("/b"), "{e}");
        let mut gone = service("e/g/NetworkService/a");
        gone.available = false;
        let e = place(vec![gone], None).network_service().unwrap_err();
        assert!(e.contains("not available"), "{e}");
        let mut proxied = service("e/g/NetworkService/a");
        proxied.proxy_required = true;
        let e = place(vec![proxied], None).network_service().unwrap_err();
        assert!(e.contains("through its exporter"), "{e}");
    }

    #[test]
    fn held_by_me_compares_the_identity() {
        assert!(place(vec![], Some("host/me")).held_by_me());
        assert!(!place(vec![], Some("host/other")).held_by_me());
        assert!(!place(vec![], None).held_by_me());
    }
}
