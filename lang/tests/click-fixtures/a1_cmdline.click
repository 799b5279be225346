define($N 5, $S x /* comment */  y);
q :: Queue($N);
