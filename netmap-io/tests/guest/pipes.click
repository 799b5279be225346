// Pipe to pipe: a sender on netmap:a{1, a receiver on netmap:a}2. Both
// pipes are a's, one memory region: ToDevice swaps each packet's buffer
// into its TX slot (td.zero_copy), nothing is copied. The '{' end needs
// quotes: unquoted, '{' opens a group in Click's arguments.
fd :: FromDevice(netmap:a}1, BURST 256)
  -> q :: Queue(1024)
  -> td :: ToDevice("netmap:a{2", BURST 256);
