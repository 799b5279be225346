// Two VALE switches, the router between them. Its two ports ask for the
// global memory region (@1), so they share it and ToDevice swaps buffers;
// the switches themselves copy between their ports' regions.
fd :: FromDevice(vale2:r1@1, BURST 256)
  -> q :: Queue(1024)
  -> td :: ToDevice(vale3:r2@1, BURST 256);
