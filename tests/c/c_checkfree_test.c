/* ecclStageRecover from strict C99: f32 and bf16 against the documented
 * formula written here, an edge stage's copy, and argument errors. Values and
 * weights are chosen so every step is exact: the expected bits are known. */
#include <eccl/eccl.h>
#include <stdio.h>
#include <string.h>

#include "c_check.h"

#define COUNT 5

static uint16_t bf16Of(float f) {
  uint32_t bits;
  memcpy(&bits, &f, 4);
  return (uint16_t)(bits >> 16); /* exact for the short values used here */
}

int main(void) {
  const float prev[COUNT] = {0.0f, 1.0f, -2.0f, 8.0f, 0.5f};
  const float next[COUNT] = {4.0f, 1.0f, 2.0f, -8.0f, 2.5f};
  float out[COUNT];
  uint16_t prev16[COUNT], next16[COUNT], out16[COUNT];
  float want;
  size_t i;

  /* Weights 1 and 3 (epsilon 0): out = (3*next + 1*prev) / 4. */
  CHECK_OK(ecclStageRecover(prev, 1.0, next, 3.0, out, COUNT, ecclFloat32, 0.0));
  for (i = 0; i < COUNT; ++i) {
    want = (3.0f * next[i] + 1.0f * prev[i]) / 4.0f;
    CHECK(memcmp(&out[i], &want, sizeof(want)) == 0);
  }

  for (i = 0; i < COUNT; ++i) {
    prev16[i] = bf16Of(prev[i]);
    next16[i] = bf16Of(next[i]);
  }
  CHECK_OK(ecclStageRecover(prev16, 1.0, next16, 3.0, out16, COUNT, ecclBfloat16, 0.0));
  for (i = 0; i < COUNT; ++i) {
    want = (3.0f * next[i] + 1.0f * prev[i]) / 4.0f;
    CHECK(out16[i] == bf16Of(want));
  }

  /* The last stage of the pipeline: a copy of its one neighbour. */
  memset(out, 0, sizeof(out));
  CHECK_OK(ecclStageRecover(prev, 2.0, NULL, 0.0, out, COUNT, ecclFloat32,
                            ECCL_STAGE_RECOVER_DEFAULT_EPSILON));
  CHECK(memcmp(out, prev, sizeof(out)) == 0);

  /* Errors name what is wrong; out is untouched. */
  memset(out, 0, sizeof(out));
  CHECK(ecclStageRecover(NULL, 1.0, NULL, 1.0, out, COUNT, ecclFloat32, 0.0) ==
        ecclInvalidArgument);
  CHECK(strstr(ecclGetLastError(), "ecclStageRecover") != NULL);
  CHECK(ecclStageRecover(prev, 1.0, next, -1.0, out, COUNT, ecclFloat32, 0.0) ==
        ecclInvalidArgument);
  CHECK(strstr(ecclGetLastError(), "next_norm") != NULL);
  CHECK(ecclStageRecover(prev, 1.0, next, 1.0, out, COUNT, ecclInt32, 0.0) == ecclInvalidArgument);
  CHECK(strstr(ecclGetLastError(), "floating point") != NULL);
  CHECK(ecclStageRecover(prev, 1.0, next, 1.0, out, COUNT, (ecclDataType_t)42, 0.0) ==
        ecclInvalidArgument);
  CHECK(strstr(ecclGetLastError(), "unknown dtype") != NULL);
  for (i = 0; i < COUNT; ++i)
    CHECK(out[i] == 0.0f);

  if (failures == 0) printf("c_checkfree_test: all checks passed\n");
  return failures == 0 ? 0 : 1;
}
