// Forwarding rate between two veth pairs in emulated mode.
fd :: FromDevice(netmap:v1, BURST 1024, TIMESTAMP false)
  -> q :: Queue(1024)
  -> td :: ToDevice(netmap:v2, BURST 1024);
