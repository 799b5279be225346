define($LIM 5);
p :: Print(${LIM-7}, ${NONE-7}, "$LIM", ${LIM[0]}, ${LIM[1]}, '$LIM', $NONE, ${LIM}x);
