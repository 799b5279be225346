elementclass Q0 {
p5 :: B($y);
}

elementclass Q0_Replacement {
r :: E($x, 3);
r [0] -> x2 :: C(1);
}
