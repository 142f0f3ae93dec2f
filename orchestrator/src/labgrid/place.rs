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
