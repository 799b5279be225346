//! PortInfo's arguments: names for TCP and UDP ports.

use super::split::split_words;

/// IP protocol numbers of the two transport protocols that have ports.
pub const IP_PROTO_TCP: u8 = 6;
/// UDP's IP protocol number.
pub const IP_PROTO_UDP: u8 = 17;

/// One PortInfo argument, `NAME PORT[/PROTOCOL] [NAME...] [# comment]`:
/// each NAME stands for PORT, for `protocols` (TCP and UDP when no
/// protocol is given).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PortInfoEntry {
    /// The names defined.
    pub names: Vec<String>,
    /// The port they stand for.
    pub port: u16,
    /// The IP protocols the names apply to.
    pub protocols: Vec<u8>,
}

/// Parses one PortInfo argument as Click does: an empty argument or one
/// that starts with `#` defines nothing (`Ok(None)`), so that lines of
/// `/etc/services` can be given verbatim; names after the port stop at a
/// `#`. An unknown protocol after the slash skips the argument quietly,
/// as Click does.
///
/// ```
/// use click_lang::args::{parse_port_info, PortInfoEntry};
/// let e = parse_port_info("foo 79/udp # ssh 25/udp comment").unwrap().unwrap();
/// assert_eq!(e, PortInfoEntry { names: vec!["foo".into()], port: 79, protocols: vec![17] });
/// assert_eq!(parse_port_info("# a comment"), Ok(None));
/// assert!(parse_port_info("http").is_err());
/// ```
pub fn parse_port_info(arg: &str) -> Result<Option<PortInfoEntry>, String> {
    let words = split_words(arg);
    let Some((first, rest)) = words.split_first() else {
        return Ok(None);
    };
    if first.starts_with('#') {
        return Ok(None);
    }
    let expected = || "expected 'NAME PORT/PROTO'".to_string();
    let port_word = rest.first().ok_or_else(expected)?;
    let (number, protocol) = match port_word.split_once('/') {
        Some((n, p)) => (n, Some(p)),
        None => (port_word.as_str(), None),
    };
    let port: u16 = number.parse().map_err(|_| expected())?;
    let protocols = match protocol {
        None => vec![IP_PROTO_TCP, IP_PROTO_UDP],
        Some("tcp") => vec![IP_PROTO_TCP],
        Some("udp") => vec![IP_PROTO_UDP],
        Some(p) => match p.parse::<u8>() {
            Ok(n) => vec![n],
            Err(_) => return Ok(None),
        },
    };
    let names = std::iter::once(first)
        .chain(rest[1..].iter().take_while(|w| !w.starts_with('#')))
        .cloned()
        .collect();
    Ok(Some(PortInfoEntry {
        names,
        port,
        protocols,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn click_forms() {
        let e = parse_port_info("foo 80/udp ssh").unwrap().unwrap();
        assert_eq!(e.names, ["foo", "ssh"]);
        assert_eq!((e.port, e.protocols), (80, vec![IP_PROTO_UDP]));
        let e = parse_port_info("http 80").unwrap().unwrap();
        assert_eq!(e.protocols, [IP_PROTO_TCP, IP_PROTO_UDP]);
        assert_eq!(parse_port_info(""), Ok(None));
        assert_eq!(parse_port_info("x 5/sctpx"), Ok(None));
        assert_eq!(
            parse_port_info("x 5/132").unwrap().unwrap().protocols,
            [132]
        );
        assert!(parse_port_info("x 70000").is_err());
        assert!(parse_port_info("x y").is_err());
    }
}
