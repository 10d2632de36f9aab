"""System libraries from Debian's -dev packages, as local repositories.

Headers live in /usr/include, which the auto-configured C++ toolchain already treats as a
built-in include directory, so each wrapper only carries link flags (taken from pkg-config)
and the defines that the package's .pc file asks for.
"""

def _system_lib(name, linkopts, defines = [], deps = []):
    # --as-needed first: link only the libraries a binary really uses. The abseil and gRPC
    # lists are long, and every shared library loaded costs start-up time.
    if linkopts:
        linkopts = ["-Wl,--as-needed"] + linkopts
    native.new_local_repository(
        name = name,
        path = "/usr/include",
        build_file_content = """
package(default_visibility = ["//visibility:public"])

cc_library(
    name = "{name}",
    defines = {defines},
    linkopts = {linkopts},
    deps = {deps},
)
""".format(name = name, defines = repr(defines), linkopts = repr(linkopts), deps = repr(deps)),
    )

_ABSL = [
        "-labsl_failure_signal_handler",
        "-labsl_examine_stack",
        "-labsl_statusor",
        "-labsl_status",
        "-labsl_strerror",
        "-labsl_str_format_internal",
        "-labsl_cord",
        "-labsl_cordz_info",
        "-labsl_cord_internal",
        "-labsl_cordz_functions",
        "-labsl_cordz_handle",
        "-labsl_hash",
        "-labsl_city",
        "-labsl_bad_variant_access",
        "-labsl_low_level_hash",
        "-labsl_raw_hash_set",
        "-labsl_hashtablez_sampler",
        "-labsl_exponential_biased",
        "-labsl_synchronization",
        "-labsl_graphcycles_internal",
        "-labsl_stacktrace",
        "-labsl_symbolize",
        "-labsl_debugging_internal",
        "-labsl_demangle_internal",
        "-labsl_malloc_internal",
        "-labsl_time",
        "-labsl_civil_time",
        "-labsl_time_zone",
        "-labsl_random_distributions",
        "-labsl_throw_delegate",
        "-labsl_raw_logging_internal",
        "-labsl_random_seed_sequences",
        "-labsl_random_internal_pool_urbg",
        "-labsl_random_internal_randen",
        "-labsl_random_internal_randen_hwaes",
        "-labsl_random_internal_randen_hwaes_impl",
        "-labsl_random_internal_randen_slow",
        "-labsl_random_internal_platform",
        "-labsl_random_internal_seed_material",
        "-labsl_bad_optional_access",
        "-labsl_strings",
        "-labsl_strings_internal",
        "-lrt",
        "-labsl_base",
        "-labsl_spinlock_wait",
        "-labsl_int128",
        "-Wl,--push-state,--as-needed",
        "-latomic",
        "-Wl,--pop-state",
        "-labsl_random_seed_gen_exception",
        "-labsl_log_severity",
]

# Abseil's static archives, for binaries whose start-up time matters (berth-runtime runs once
# per container operation): linked as one group ahead of the shared wrappers, which
# --as-needed then drops.
_ABSL_ARCHIVES = [
    "/usr/lib/x86_64-linux-gnu/lib" + flag[2:] + ".a"
    for flag in _ABSL
    if flag.startswith("-labsl_")
]

ABSL_STATIC_LINKOPTS = ["-Wl,--start-group"] + _ABSL_ARCHIVES + ["-Wl,--end-group"]

def _archives(names):
    return ["/usr/lib/x86_64-linux-gnu/lib" + name + ".a" for name in names]

# The shared versions of these libraries are on the link line too (the wrappers' -l flags,
# then dropped by --as-needed), and ld exports every symbol an executable defines that a
# shared object it sees also defines: 17,000 symbols in berthd's dynamic table, each bound by
# name at start. The archives' symbols are the binary's own.
_NOT_EXPORTED = ["-Wl,--exclude-libs,ALL"]

_GRPC_ARCHIVES = _archives([
    "grpc++",
    "grpc",
    "gpr",
    "upb",
    "address_sorting",
    "re2",
    "cares",
    "protobuf",
])

# gRPC, protobuf, OpenSSL, zlib and abseil as static archives, for the CLI: one process per
# command, for which 60 shared libraries cost ~15 ms of loading and relocating before main.
# Same mechanism as above: the archives come first, --as-needed drops the .so files.
GRPC_STATIC_LINKOPTS = ["-Wl,--start-group"] + _GRPC_ARCHIVES + _archives([
    "ssl",
    "crypto",
    "z",
]) + _ABSL_ARCHIVES + ["-Wl,--end-group", "-ldl", "-pthread"] + _NOT_EXPORTED

# berthd: gRPC, protobuf, abseil, SQLite and yaml-cpp static (their relocated data and the
# partly used text of whole shared libraries were most of its idle RSS). OpenSSL and zlib stay
# shared: libcurl and libarchive load them anyway, and two copies of OpenSSL in one process
# are two sets of global state.
DAEMON_STATIC_LINKOPTS = ["-Wl,--start-group"] + _GRPC_ARCHIVES + _archives([
    "sqlite3",
    "yaml-cpp",
]) + _ABSL_ARCHIVES + ["-Wl,--end-group", "-ldl", "-pthread"] + _NOT_EXPORTED

def system_libs():
    _system_lib("absl", _ABSL)
    _system_lib("protobuf", ["-lprotobuf"])
    _system_lib("protobuf_lite", ["-lprotobuf-lite"])
    _system_lib("grpc", [
        "-lgrpc++",
        "-lgrpc",
        "-laddress_sorting",
        "-lre2",
        "-lupb",
        "-lcares",
        "-lz",
        "-lgpr",
        "-lssl",
        "-lcrypto",
    ], defines = ["NOMINMAX"], deps = ["@absl", "@protobuf"])
    _system_lib("fmt", ["-lfmt"])
    _system_lib(
        "spdlog",
        ["-lspdlog", "-pthread"],
        defines = ["SPDLOG_SHARED_LIB", "SPDLOG_COMPILED_LIB", "SPDLOG_FMT_EXTERNAL"],
        deps = ["@fmt"],
    )
    _system_lib("yaml_cpp", ["-lyaml-cpp"])
    _system_lib("re2", ["-lre2"])
    _system_lib("gtest", ["-lgmock", "-lgtest", "-lpthread"], defines = ["GTEST_HAS_PTHREAD=1"])
    _system_lib("gtest_main", ["-lgtest_main"], deps = ["@gtest"])
    _system_lib("seccomp", ["-lseccomp"])
    _system_lib("sqlite3", ["-lsqlite3"])
    _system_lib("archive", ["-larchive"])
    _system_lib("crypto", ["-lcrypto"])
    _system_lib("curl", ["-lcurl"])
    _system_lib("zlib", ["-lz"])
    _system_lib("zstd", ["-lzstd"])

    # Header-only libraries: nothing to link, the target only records the dependency.
    _system_lib("nlohmann_json", [])
    _system_lib("cli11", [])
