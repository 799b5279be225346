define($A x y z, $N 1);
p :: Print(${A[1]-none}, ${ A }, ${A[$N]}, ${B[1]-none}, ${A[0x2]}, ${A[bad]}, ${A.suffix}, ${A[7]});
