// Choosing the ISA path: ECCL_ISA parsing, CPU limits, setIsa errors, names.
#include <gtest/gtest.h>

#include <cstdlib>
#include <string>

#include "src/reduce/isa_select.h"
#include "src/reduce/reduce.h"

namespace eccl::reduce {
namespace {

TEST(ReduceIsa, ParsesTheThreeNamesInAnyCase) {
  EXPECT_EQ(parseIsa("scalar"), Isa::kScalar);
  EXPECT_EQ(parseIsa("AVX2"), Isa::kAvx2);
  EXPECT_EQ(parseIsa("Avx512"), Isa::kAvx512);
  EXPECT_EQ(parseIsa(""), std::nullopt);
  EXPECT_EQ(parseIsa("sse4"), std::nullopt);
  EXPECT_EQ(parseIsa("avx512 "), std::nullopt);
  EXPECT_EQ(parseIsa("avx"), std::nullopt);
}

TEST(ReduceIsa, UnsetEnvironmentGivesTheBest) {
  for (Isa best : {Isa::kScalar, Isa::kAvx2, Isa::kAvx512}) {
    EXPECT_EQ(chooseIsa(nullptr, best).isa, best);
    EXPECT_EQ(chooseIsa("", best).isa, best);
    EXPECT_EQ(chooseIsa(nullptr, best).warning, "");
  }
}

TEST(ReduceIsa, LowerRequestIsHonoured) {
  const IsaChoice choice = chooseIsa("scalar", Isa::kAvx512);
  EXPECT_EQ(choice.isa, Isa::kScalar);
  EXPECT_EQ(choice.warning, "");
  EXPECT_EQ(chooseIsa("avx2", Isa::kAvx512).isa, Isa::kAvx2);
  EXPECT_EQ(chooseIsa("avx2", Isa::kAvx2).isa, Isa::kAvx2);
}

TEST(ReduceIsa, RequestAboveTheCpuWarnsAndUsesTheBest) {
  const IsaChoice choice = chooseIsa("avx512", Isa::kAvx2);
  EXPECT_EQ(choice.isa, Isa::kAvx2);
  EXPECT_NE(choice.warning.find("avx512"), std::string::npos) << choice.warning;
  EXPECT_EQ(chooseIsa("avx2", Isa::kScalar).isa, Isa::kScalar);
}

TEST(ReduceIsa, UnknownRequestWarnsAndUsesTheBest) {
  const IsaChoice choice = chooseIsa("neon", Isa::kAvx512);
  EXPECT_EQ(choice.isa, Isa::kAvx512);
  EXPECT_NE(choice.warning.find("neon"), std::string::npos) << choice.warning;
}

TEST(ReduceIsa, SetIsaRejectsPathsTheCpuLacksAndUnknownValues) {
  EXPECT_EQ(setIsa(static_cast<Isa>(7)).code(), Code::kInvalidArgument);
  for (Isa isa : {Isa::kScalar, Isa::kAvx2, Isa::kAvx512}) {
    const Status status = setIsa(isa);
    if (isa <= bestSupportedIsa()) {
      EXPECT_TRUE(status.isOk()) << status.toString();
      EXPECT_EQ(activeIsa(), isa);
    } else {
      EXPECT_EQ(status.code(), Code::kUnsupported) << isaName(isa);
      EXPECT_NE(activeIsa(), isa);
    }
  }
  ASSERT_TRUE(setIsa(bestSupportedIsa()).isOk());
}

#if defined(__x86_64__)
TEST(ReduceIsa, ThisCpuHasTheVectorPaths) {
  // The build machine has AVX-512 F/BW/VL and F16C; elsewhere this only logs.
  if (bestSupportedIsa() != Isa::kAvx512) {
    GTEST_SKIP() << "best path here is " << isaName(bestSupportedIsa());
  }
  EXPECT_EQ(bestSupportedIsa(), Isa::kAvx512);
}
#endif

// ECCL_ISA is read once per process, so each case runs in a fresh child.
TEST(ReduceIsaDeathTest, EnvironmentSelectsThePathOnce) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_EXIT(
      {
        setenv("ECCL_ISA", "scalar", 1);
        const bool first = activeIsa() == Isa::kScalar;
        setenv("ECCL_ISA", "avx2", 1);  // too late: already chosen
        std::exit(first && activeIsa() == Isa::kScalar ? 0 : 1);
      },
      ::testing::ExitedWithCode(0), "");
  EXPECT_EXIT(
      {
        setenv("ECCL_LOG", "warn", 1);
        setenv("ECCL_ISA", "bogus", 1);
        std::exit(activeIsa() == bestSupportedIsa() ? 0 : 1);
      },
      ::testing::ExitedWithCode(0), "ECCL_ISA='bogus'");
}

TEST(ReduceNames, DTypesOpsAndIsas) {
  const char* names[] = {"i8",  "u8",  "i16", "u16",  "i32", "u32",
                         "i64", "u64", "f16", "bf16", "f32", "f64"};
  const size_t sizes[] = {1, 1, 2, 2, 4, 4, 8, 8, 2, 2, 4, 8};
  for (int i = 0; i < kNumDTypes; ++i) {
    const auto dtype = static_cast<DType>(i);
    EXPECT_TRUE(isValid(dtype));
    EXPECT_STREQ(dtypeName(dtype), names[i]);
    EXPECT_EQ(dtypeSize(dtype), sizes[i]);
  }
  EXPECT_FALSE(isValid(static_cast<DType>(kNumDTypes)));
  const char* ops[] = {"sum", "avg", "prod", "min", "max"};
  for (int i = 0; i < kNumReduceOps; ++i) {
    EXPECT_TRUE(isValid(static_cast<ReduceOp>(i)));
    EXPECT_STREQ(opName(static_cast<ReduceOp>(i)), ops[i]);
  }
  EXPECT_FALSE(isValid(static_cast<ReduceOp>(kNumReduceOps)));
  EXPECT_STREQ(isaName(Isa::kScalar), "scalar");
  EXPECT_STREQ(isaName(Isa::kAvx2), "avx2");
  EXPECT_STREQ(isaName(Isa::kAvx512), "avx512");
}

}  // namespace
}  // namespace eccl::reduce
