// nat-gateway.click: a NAT gateway between a private network and the
// outside, in the shape of configs/ip-router.click (ARP on both sides,
// one route table, DecIPTTL and ICMP errors, fragmentation, the
// gateway's addresses answering pings), with Click's NAT elements on
// the outside interface:
//
//   inside hosts                         gateway                            outside
//   $IN_NET ──── $IN_DEV $IN_IP  [rt, IPRewriter, ICMPPingRewriter,  $OUT_IP $OUT_DEV ──── $OUT_NET
//                                       ICMPRewriter]                 default route via $OUT_GW
//
//   router configs/nat-gateway.click IN_DEV=eth1 OUT_DEV=eth0 IN_MAC=... OUT_MAC=... METHOD=XDP
//
// * Inside hosts' TCP and UDP leave with the gateway's outside address
//   and a port of $NAT_PORTS (nat :: IPRewriter), their pings with that
//   address and an echo identifier of the gateway's (pingnat ::
//   ICMPPingRewriter); the answers are mapped back to the host that
//   asked. `nat.tcp_table`, `nat.udp_table` and `pingnat.table` list
//   the flows.
// * ICMP errors from the outside about those flows (port unreachable,
//   time exceeded for traceroute, fragmentation needed for path MTU
//   discovery) are translated back by an ICMPRewriter (icmpnat): they
//   reach the inside host that sent the packet they quote, quoting it
//   as that host sent it.
// * As netfilter does, the translation comes after routing on the way
//   out (so DecIPTTL's and the MTU check's ICMP errors still reach the
//   inside host's own address) and before routing on the way in.
// * From the outside only the gateway's outside address is reachable:
//   answers to mapped flows, and pings to the gateway itself. Anything
//   else from the outside (to an inside address, to the gateway on a
//   port no flow maps, or an ICMP error about no flow of the inside)
//   is dropped and counted in `blocked.count`;
//   inside packets that cannot be translated (not TCP, UDP or ping, or
//   from an address outside $IN_NET) are dropped and counted in
//   `refused.count`.
// * The rewriters see only whole datagrams: fragments are reassembled
//   before them (only a first fragment carries ports) and fragmented
//   again for the link they leave by.
// * Not here: nothing is delivered to the host's own stack (no ToHost).

define($METHOD PACKET,
       $QUEUE 1024,
       // The inside (private) interface.
       $IN_DEV eth1, $IN_IP 10.1.1.1, $IN_NET 10.1.1.0/24, $IN_BCAST 10.1.1.255,
       $IN_MAC 02:00:00:00:01:01, $IN_MTU 1500,
       // The outside interface and its next hop, where the default route goes.
       $OUT_DEV eth0, $OUT_IP 10.1.2.1, $OUT_NET 10.1.2.0/24, $OUT_BCAST 10.1.2.255,
       $OUT_MAC 02:00:00:00:02:01, $OUT_MTU 1500, $OUT_GW 10.1.2.2,
       // The source ports translated flows get. Without `#` or `?` a
       // flow keeps its own port when it is in the range and no other
       // flow to the same destination has it, else gets a random one.
       $NAT_PORTS 20000-65535);

// The translators. Input 0 takes inside hosts' packets on their way out
// (a new flow gets a mapping: output 0); input 1 takes what arrives for
// the outside address (a mapped flow's answers, rewritten back: output
// 1; the rest, unmapped, passes to output 2). DST_ANNO false keeps the
// next hop the route table chose on the way out; on the way in,
// GetIPAddress reads the new destination for the route table.
nat :: IPRewriter(pattern $OUT_IP $NAT_PORTS - - 0 1,
                  pass 2,
                  DST_ANNO false);
pingnat :: ICMPPingRewriter(pattern $OUT_IP 0-65535 - - 0 1,
                            pass 2,
                            DST_ANNO false);
// ICMP errors from the outside about the flows of either: rewritten to
// the inside host and the packet it sent (output 0, the destination
// annotation set to that host); the others leave unchanged on output 1.
icmpnat :: ICMPRewriter(nat pingnat);

// Drops worth counting.
blocked :: Counter -> Discard;    // from the outside, not for the gateway
refused :: Counter -> Discard;    // from the inside, not translatable

// The route table. Outputs: 0, the gateway itself; 1, the inside;
// 2, the outside (the default route, via $OUT_GW); 3, broadcasts to
// the gateway's networks (dropped).
rt :: RadixIPLookup(
	$IN_IP/32 0,
	$IN_BCAST/32 3,
	$OUT_IP/32 0,
	$OUT_BCAST/32 3,
	255.255.255.255/32 3,
	0.0.0.0/32 3,
	$IN_NET 1,
	$OUT_NET 2,
	0.0.0.0/0 $OUT_GW 2);

// ARP responses are copied to each ARPQuerier.
arpt :: Tee(2);

// Devices and ARP, inside.
c_in :: Classifier(12/0806 20/0001, 12/0806 20/0002, 12/0800, -);
from_inside :: FromDevice($IN_DEV, METHOD $METHOD, SNIFFER false) -> c_in;
q_inside :: Queue($QUEUE) -> to_inside :: ToDevice($IN_DEV, METHOD $METHOD);
c_in[0] -> ARPResponder($IN_IP $IN_MAC) -> q_inside;
arpq_inside :: ARPQuerier($IN_IP, $IN_MAC) -> q_inside;
c_in[1] -> arpt;
arpt[0] -> [1]arpq_inside;
c_in[3] -> Discard;

// Devices and ARP, outside.
c_out :: Classifier(12/0806 20/0001, 12/0806 20/0002, 12/0800, -);
from_outside :: FromDevice($OUT_DEV, METHOD $METHOD, SNIFFER false) -> c_out;
q_outside :: Queue($QUEUE) -> to_outside :: ToDevice($OUT_DEV, METHOD $METHOD);
c_out[0] -> ARPResponder($OUT_IP $OUT_MAC) -> q_outside;
arpq_outside :: ARPQuerier($OUT_IP, $OUT_MAC) -> q_outside;
c_out[1] -> arpt;
arpt[1] -> [1]arpq_outside;
c_out[3] -> Discard;

// IP from the inside goes straight to the route table. (BADSRC and
// GOODDST are what INTERFACES $IN_IP/LEN $OUT_IP/LEN stands for.)
c_in[2] -> Paint(1)
    -> Strip(14)
    -> CheckIPHeader(BADSRC $IN_BCAST $OUT_BCAST 0.0.0.0 255.255.255.255,
                     GOODDST $IN_IP $OUT_IP)
    -> rt;

// IP from the outside: only what is for the outside address gets in,
// whole, and is mapped back if a flow of the inside asked for it.
c_out[2] -> Paint(2)
    -> Strip(14)
    -> CheckIPHeader(BADSRC $IN_BCAST $OUT_BCAST 0.0.0.0 255.255.255.255,
                     GOODDST $IN_IP $OUT_IP)
    -> for_us :: IPClassifier(dst host $OUT_IP, -)
    -> IPReassembler
    -> answers :: IPClassifier(tcp or udp,
                               icmp type echo-reply,
                               // The errors that quote a packet (not
                               // redirects: they are for the gateway).
                               icmp type unreachable or icmp type timeexceeded
                                 or icmp type parameterproblem or icmp type sourcequench,
                               -);
for_us[1] -> blocked;
answers[0] -> [1]nat;
answers[1] -> [1]pingnat;
answers[2] -> icmpnat;
answers[3] -> rt;                 // the gateway's own: pings are answered
nat[1] -> GetIPAddress(16) -> rt;
pingnat[1] -> GetIPAddress(16) -> rt;
icmpnat[0] -> rt;
nat[2] -> blocked;                // no flow of the inside asked for it
pingnat[2] -> blocked;
icmpnat[1] -> blocked;            // about no flow of the inside

// Local delivery: the gateway answers pings to its own addresses.
rt[0] -> ping :: ICMPPingResponder -> rt;
ping[1] -> Discard;
rt[3] -> Discard;

// Forwarding to the inside: answers mapped back, ICMP errors and ping
// replies from the gateway, and inside traffic to the inside (with a
// redirect).
rt[1] -> DropBroadcasts
    -> cp_in :: PaintTee(1)
    -> gio_in :: IPGWOptions($IN_IP)
    -> FixIPSrc($IN_IP)
    -> dt_in :: DecIPTTL
    -> fr_in :: IPFragmenter($IN_MTU)
    -> [0]arpq_inside;
dt_in[1] -> ICMPError($IN_IP, timeexceeded) -> rt;
fr_in[1] -> ICMPError($IN_IP, unreachable, needfrag, PMTU $IN_MTU) -> rt;
gio_in[1] -> ICMPError($IN_IP, parameterproblem) -> rt;
cp_in[1] -> ICMPError($IN_IP, redirect, host) -> rt;

// Forwarding to the outside: the inside hosts' packets are translated
// after the checks that may answer them with an ICMP error, so that the
// error goes to the host's own address; the gateway's own packets (ping
// replies, ICMP errors) leave as they are.
rt[2] -> DropBroadcasts
    -> cp_out :: PaintTee(2)
    -> gio_out :: IPGWOptions($OUT_IP)
    -> FixIPSrc($OUT_IP)
    -> dt_out :: DecIPTTL
    -> masq :: IPClassifier(src net $IN_NET, src host $OUT_IP, -);
dt_out[1] -> ICMPError($OUT_IP, timeexceeded) -> rt;
gio_out[1] -> ICMPError($OUT_IP, parameterproblem) -> rt;
cp_out[1] -> ICMPError($OUT_IP, redirect, host) -> rt;
masq[0] -> IPReassembler
    -> to_nat :: IPClassifier(ip len > $OUT_MTU and ip[6] & 64 != 0, // too big, DF
                              tcp or udp,
                              icmp type echo,
                              -);
// Everything leaving is fragmented for the outside link. (It needs no
// DF error output: translated packets had their check above, the
// gateway's ping replies leave without DF and its errors are small.)
masq[1] -> fr_out :: IPFragmenter($OUT_MTU) -> [0]arpq_outside;
masq[2] -> refused;               // a source the inside should not use
to_nat[0] -> ICMPError($OUT_IP, unreachable, needfrag, PMTU $OUT_MTU) -> rt;
to_nat[1] -> [0]nat;
to_nat[2] -> [0]pingnat;
to_nat[3] -> refused;             // no port or identifier to map
nat[0] -> fr_out;
pingnat[0] -> fr_out;
