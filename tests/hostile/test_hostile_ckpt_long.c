/* test_hostile_ckpt_long.c - test_hostile_ckpt with 1500 random mutations
 * of the checkpoint's option block (label long). */
#define N_MUTATIONS 1500
#include "test_hostile_ckpt.c"
