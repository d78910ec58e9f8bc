//! Recognises a wearable among USB devices from descriptors alone: the VID:PID list, the link
//! interface (class `FF/4B/01`, protocol.md §1) and its bulk endpoints, and the port path that
//! names a dock slot. It owns these decisions as plain functions over plain data; it must never do
//! USB I/O, so every rule here is unit-tested without a bus.

use std::fmt;
use std::str::FromStr;

use serde::Deserialize;

/// A USB vendor and product id, written `"1209:4B57"` in the config.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(try_from = "String")]
pub struct UsbId {
    pub vid: u16,
    pub pid: u16,
}

impl FromStr for UsbId {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let bad = || format!("`{text}` is not a USB id: write VID:PID in hex, like \"1209:4B57\"");
        let (vid, pid) = text.split_once(':').ok_or_else(bad)?;
        let hex = |s: &str| {
            if s.len() == 4 {
                u16::from_str_radix(s, 16).ok()
            } else {
                None
            }
        };
        Ok(Self {
            vid: hex(vid).ok_or_else(bad)?,
            pid: hex(pid).ok_or_else(bad)?,
        })
    }
}

impl TryFrom<String> for UsbId {
    type Error = String;
    fn try_from(text: String) -> Result<Self, Self::Error> {
        text.parse()
    }
}

/// The link interface's class, subclass and protocol (protocol.md §1).
pub const LINK_CLASS: [u8; 3] = [0xFF, 0x4B, 0x01];

/// One endpoint as its descriptor states it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EndpointInfo {
    /// `bEndpointAddress`: bit 7 set for IN.
    pub address: u8,
    pub bulk: bool,
    pub max_packet: u16,
}

/// One alternate setting of one interface as its descriptor states it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InterfaceInfo {
    pub number: u8,
    pub alternate: u8,
    pub class: [u8; 3],
    pub endpoints: Vec<EndpointInfo>,
}

/// The link interface found on a wearable, with the endpoints its descriptor gives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LinkInterface {
    pub number: u8,
    pub alternate: u8,
    pub ep_out: u8,
    pub ep_in: u8,
    pub max_packet_in: u16,
}

/// Why a device with a wearable's VID:PID cannot be used as one.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NotALink {
    #[error("no interface of class FF/4B/01 (found: {0})")]
    NoLinkInterface(String),
    #[error("interface {number} is class FF/4B/01 but lacks one bulk IN and one bulk OUT endpoint")]
    MissingEndpoints { number: u8 },
}

/// Whether `vid:pid` is one of the configured wearable ids.
pub fn is_wearable_id(ids: &[UsbId], vid: u16, pid: u16) -> bool {
    ids.iter().any(|id| id.vid == vid && id.pid == pid)
}

/// Picks the link interface among a device's interfaces: the first of class `FF/4B/01` that has a
/// bulk IN and a bulk OUT endpoint. Endpoint numbers come from the descriptor, never assumed.
pub fn find_link(interfaces: &[InterfaceInfo]) -> Result<LinkInterface, NotALink> {
    let mut candidates = interfaces
        .iter()
        .filter(|i| i.class == LINK_CLASS)
        .peekable();
    let Some(first) = candidates.peek().map(|i| i.number) else {
        return Err(NotALink::NoLinkInterface(describe_classes(interfaces)));
    };
    for interface in candidates {
        let bulk = |dir_in: bool| {
            interface
                .endpoints
                .iter()
                .find(|e| e.bulk && (e.address & 0x80 != 0) == dir_in)
        };
        if let (Some(out), Some(inp)) = (bulk(false), bulk(true)) {
            return Ok(LinkInterface {
                number: interface.number,
                alternate: interface.alternate,
                ep_out: out.address,
                ep_in: inp.address,
                max_packet_in: inp.max_packet,
            });
        }
    }
    Err(NotALink::MissingEndpoints { number: first })
}

fn describe_classes(interfaces: &[InterfaceInfo]) -> String {
    if interfaces.is_empty() {
        return "no interfaces".to_owned();
    }
    interfaces
        .iter()
        .map(|i| {
            format!(
                "{}: {:02X}/{:02X}/{:02X}",
                i.number, i.class[0], i.class[1], i.class[2]
            )
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// A USB port path as the kernel names it in sysfs: bus, then the port chain, `1-1.3`. Stable
/// for a physical socket of the dock, so it is what `[usb.slots]` maps to slot numbers.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PortPath(String);

impl PortPath {
    /// `None` for a root hub (no ports) or a chain longer than USB allows (7 tiers).
    pub fn new(bus: u8, ports: &[u8]) -> Option<Self> {
        if ports.is_empty() || ports.len() > 7 || ports.contains(&0) {
            return None;
        }
        let chain = ports
            .iter()
            .map(u8::to_string)
            .collect::<Vec<_>>()
            .join(".");
        Some(Self(format!("{bus}-{chain}")))
    }

    /// Whether `text` is written like a port path (`<bus>-<port>[.<port>…]`), for config checks.
    pub fn is_well_formed(text: &str) -> bool {
        let Some((bus, chain)) = text.split_once('-') else {
            return false;
        };
        let number =
            |s: &str| !s.is_empty() && s.len() <= 3 && s.bytes().all(|b| b.is_ascii_digit());
        number(bus) && chain.split('.').count() <= 7 && chain.split('.').all(number)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for PortPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bulk(address: u8) -> EndpointInfo {
        EndpointInfo {
            address,
            bulk: true,
            max_packet: 512,
        }
    }

    fn interface(number: u8, class: [u8; 3], endpoints: Vec<EndpointInfo>) -> InterfaceInfo {
        InterfaceInfo {
            number,
            alternate: 0,
            class,
            endpoints,
        }
    }

    #[test]
    fn the_link_interface_is_found_with_whatever_endpoint_numbers_it_declares() {
        let interfaces = [
            interface(0, [0x02, 0x02, 0x01], vec![bulk(0x82)]),
            interface(1, LINK_CLASS, vec![bulk(0x83), bulk(0x05)]),
        ];
        assert_eq!(
            find_link(&interfaces),
            Ok(LinkInterface {
                number: 1,
                alternate: 0,
                ep_out: 0x05,
                ep_in: 0x83,
                max_packet_in: 512
            })
        );
    }

    #[test]
    fn a_device_without_the_link_class_is_not_a_wearable_and_says_what_it_has() {
        let error =
            find_link(&[interface(0, [0xFF, 0x00, 0x00], vec![bulk(1), bulk(0x81)])]).unwrap_err();
        assert_eq!(
            error.to_string(),
            "no interface of class FF/4B/01 (found: 0: FF/00/00)"
        );
        assert!(matches!(
            find_link(&[]),
            Err(NotALink::NoLinkInterface(s)) if s == "no interfaces"
        ));
    }

    #[test]
    fn a_link_interface_needs_both_bulk_directions() {
        let interrupt_in = EndpointInfo {
            address: 0x81,
            bulk: false,
            max_packet: 64,
        };
        let error = find_link(&[interface(2, LINK_CLASS, vec![bulk(0x01), interrupt_in])]);
        assert_eq!(error, Err(NotALink::MissingEndpoints { number: 2 }));
    }

    #[test]
    fn only_configured_ids_are_wearables() {
        let ids = [UsbId {
            vid: 0x1209,
            pid: 0x4B57,
        }];
        assert!(is_wearable_id(&ids, 0x1209, 0x4B57));
        assert!(!is_wearable_id(&ids, 0x1209, 0x4B58));
    }

    #[test]
    fn port_paths_are_named_as_sysfs_names_them() {
        assert_eq!(PortPath::new(1, &[1, 3]).unwrap().as_str(), "1-1.3");
        assert_eq!(PortPath::new(2, &[4]).unwrap().as_str(), "2-4");
        assert_eq!(PortPath::new(1, &[]), None, "a root hub has no port path");
        assert_eq!(PortPath::new(1, &[1, 2, 3, 4, 5, 6, 7, 1]), None);
        for good in ["1-1", "1-1.3", "3-2.4.1"] {
            assert!(PortPath::is_well_formed(good), "{good}");
        }
        for bad in ["", "1", "1-", "1-1.", "-1", "a-1", "1-1.x", "usb1"] {
            assert!(!PortPath::is_well_formed(bad), "{bad}");
        }
    }
}
