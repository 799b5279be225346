// Two veth pairs in netmap's emulated mode, and no METHOD: where
// /dev/netmap exists, PollDevice and ToDevice pick netmap (and log it).
pd :: PollDevice(v1, BURST 256)
  -> q :: Queue(1024)
  -> td :: ToDevice(v2, BURST 256);
