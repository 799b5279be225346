// (a') a-counter with distinct packets: every packet counted is its own
// buffer with its own bytes, not a clone of one template, and the path
// reads a byte of each. The same text runs on Click, FastClick and router.
//
// Why not RandomSource: FastClick (93ca5a6) hangs in RandomSource's
// initialize. RandomSource inherits InfiniteSource::initialize, whose
// setup_packet() pads the template with copies of DATA until LENGTH bytes;
// RandomSource never sets DATA, so it appends the empty string forever
// (elements/standard/infinitesource.cc, setup_packet).
//
// So InfiniteSource's clones go through UDPIPEncap, which every build has
// (IPEncap too, but FastClick's IPEncap has no batch path and would unbatch
// its packets): it pushes 28 bytes of IP and UDP header onto a shared
// buffer, which makes a new buffer (Click's expensive_push, our
// copy-on-write) holding a copy of the 64 bytes, and writes an IP ID that
// counts up, with the IP checksum (no UDP checksum, CHECKSUM false): each
// packet differs from the one before. Classifier(0/45, -) then reads the
// first byte of every packet (IP version 4, header length 5, so all go to
// output 0): Counter itself reads no data in Click or FastClick, and a
// Classifier is the cheapest element all three have that must load a byte
// of the packet. The copy and the read are part of the figure, in every
// build alike.
define($N 20000000, $TS false, $BURST 32);
src :: InfiniteSource(LENGTH 64, LIMIT $N, BURST $BURST, STOP true, TIMESTAMP $TS);
src -> UDPIPEncap(10.0.0.1, 1234, 10.0.0.2, 5678, CHECKSUM false) -> cl :: Classifier(0/45, -);
cl[0] -> c :: Counter -> Discard;
cl[1] -> Discard;
