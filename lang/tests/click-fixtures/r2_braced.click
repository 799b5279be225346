define($A x y z, $N 1);
s :: Script(TYPE PASSIVE, print ${A[1]-none} / ${ A } / ${A[$N]} / ${B[1]-none} / ${A[0x2]} / ${A[bad]} / ${A.suffix} / ${A[7]} / ${A[-1]} / ${A[-]});
