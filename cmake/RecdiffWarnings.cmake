# Settings for recdiff's OWN targets (tests, examples, benchmarks) — never forced on consumers.
#   recdiff_set_warnings(<target>)  : -Wall -Wextra -Wpedantic -Werror
#   recdiff_configure_target(<target>) : warnings + the build-wide switches (native, no-SIMD, sanitizers)

function(recdiff_set_warnings target)
  target_compile_options(${target} PRIVATE
    $<$<CXX_COMPILER_ID:GNU,Clang>:-Wall -Wextra -Wpedantic -Werror>)
endfunction()

function(recdiff_configure_target target)
  recdiff_set_warnings(${target})
  target_link_libraries(${target} PRIVATE recdiff::recdiff)
  if(RECDIFF_NATIVE)
    target_link_libraries(${target} PRIVATE recdiff::native)
    # GCC 12's own avx512fintrin.h trips -Wmaybe-uninitialized inside Eigen's AVX-512 packet code (GCC bug
    # 105593, fixed in GCC 13). It is a false positive in the compiler's header, not in ours; the non-native
    # presets (asan, debug) keep the warning as an error.
    # The same header also trips -Wuninitialized in Eigen's vectorised log() on double arrays.
    target_compile_options(${target} PRIVATE $<$<CXX_COMPILER_ID:GNU>:-Wno-maybe-uninitialized -Wno-uninitialized>)
  endif()
  if(RECDIFF_NO_SIMD)
    target_compile_definitions(${target} PRIVATE RECDIFF_NO_SIMD=1)
  endif()
  if(RECDIFF_SANITIZE)
    target_compile_options(${target} PRIVATE -fsanitize=address,undefined -fno-sanitize-recover=undefined
                                             -fno-omit-frame-pointer)
    # GCC's -Wmaybe-uninitialized gives false positives under -fsanitize (documented in GCC's manual: the
    # sanitizers' instrumentation defeats its analysis); at -O1 it fires inside libstdc++'s <regex>, which
    # Catch2 includes. The release and debug presets keep it as an error.
    target_compile_options(${target} PRIVATE $<$<CXX_COMPILER_ID:GNU>:-Wno-maybe-uninitialized>)
    target_link_options(${target} PRIVATE -fsanitize=address,undefined)
  endif()
endfunction()
