define($LIM 5);
elementclass Q { $n | define($m $LIM) input -> a :: Queue($n) -> b :: Queue($m) -> output }
Idle -> x :: Q($LIM) -> y :: Q(3) -> Discard;
