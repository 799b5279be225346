//! PortInfo names, scoped as Click's name databases are: UDPIPEncap reads
//! them, a compound's names stay inside it, and a bad argument is an
//! error. (Click's tcpudp/UDPIPEncap-01 runs in the testie suite.)

mod common;

use common::router_outcome;

/// The UDP ports of one packet of `encap` (a UDPIPEncap, or a compound
/// with one inside), with `info` beside it.
fn ports(encap: &str, info: &str) -> Result<String, String> {
    let config = format!(
        "InfiniteSource(LIMIT 1, STOP true) -> {encap}
           -> ToIPSummaryDump(-, FIELDS sport dport); {info}"
    );
    let (status, out, err) = router_outcome(&["-e", &config]);
    if status.success() {
        Ok(out.lines().filter(|l| !l.starts_with('!')).collect())
    } else {
        Err(err)
    }
}

#[test]
fn names_numbers_and_protocols() {
    assert_eq!(
        ports(
            "UDPIPEncap(1.0.0.1, src, 2.0.0.1, dst)",
            "PortInfo(src 10, dst 100/udp)"
        ),
        Ok("10 100".to_string())
    );
    // A name for TCP only is not a UDP port; well-known names remain.
    let err = ports(
        "UDPIPEncap(1.0.0.1, src, 2.0.0.1, ssh)",
        "PortInfo(src 10/tcp)",
    )
    .unwrap_err();
    assert!(err.contains("SPORT: expected port number"), "{err}");
    assert_eq!(
        ports("UDPIPEncap(1.0.0.1, ssh, 2.0.0.1, www)", ""),
        Ok("22 80".to_string())
    );
    // A PortInfo name comes before a well-known one.
    assert_eq!(
        ports("UDPIPEncap(1.0.0.1, ssh, 2.0.0.1, 7)", "PortInfo(ssh 2222)"),
        Ok("2222 7".to_string())
    );
}

#[test]
fn compound_names_stay_inside() {
    let inner = "{ input -> UDPIPEncap(1.0.0.1, src, 2.0.0.1, dst) -> output; PortInfo(dst 100) }";
    assert_eq!(ports(inner, "PortInfo(src 10)"), Ok("10 100".to_string()));
    let outside = "{ input -> output; PortInfo(dst 100) } -> UDPIPEncap(1.0.0.1, 1, 2.0.0.1, dst)";
    let err = ports(outside, "").unwrap_err();
    assert!(err.contains("DPORT: expected port number"), "{err}");
}

#[test]
fn bad_arguments_are_errors() {
    let err = ports("Null", "PortInfo(http)").unwrap_err();
    assert!(err.contains("expected 'NAME PORT/PROTO'"), "{err}");
    // Comments and /etc/services lines define what they say.
    assert_eq!(
        ports(
            "UDPIPEncap(1.0.0.1, domain, 2.0.0.1, dom)",
            "PortInfo(# a comment, dom 53/udp domain # DNS)"
        ),
        Ok("53 53".to_string())
    );
}
