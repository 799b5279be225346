// Forwarding rate between two VALE switches, pkt-gen at both ends.
fd :: FromDevice(vale5:r1@1, BURST 1024, TIMESTAMP false)
  -> q :: Queue(1024)
  -> td :: ToDevice(vale6:r2@1, BURST 1024);
