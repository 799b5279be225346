// Forwarding rate pipe to pipe, pkt-gen at both ends.
fd :: FromDevice(netmap:r}1, BURST 1024, TIMESTAMP false)
  -> q :: Queue(1024)
  -> td :: ToDevice("netmap:r{2", BURST 1024);
