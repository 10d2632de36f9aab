"""berth_proto_library: a .proto file into C++ message (and optionally gRPC) libraries.

Bazel 4's native proto rules would fetch protobuf's sources; we use Debian's protoc and
grpc_cpp_plugin from a genrule instead. Import paths are relative to //proto, so generated
headers are included as "berth/<area>/v1/<file>.pb.h".
"""

_PROTO_ROOT = "proto"

def berth_proto_library(name, src, deps = [], grpc = True, lite = False, visibility = None):
    """Generates <name> (a cc_library) from one .proto file in the //proto package.

    Args:
      name: the cc_library's name.
      src: the .proto file, relative to //proto (e.g. "berth/types/v1/types.proto").
      deps: other berth_proto_library targets whose files src imports.
      grpc: also generate gRPC service stubs (.grpc.pb.*).
      lite: link protobuf-lite (the file must say optimize_for = LITE_RUNTIME).
      visibility: the cc_library's visibility.
    """
    base = src[:-len(".proto")]
    outs = [base + ".pb.h", base + ".pb.cc"]
    if grpc:
        outs += [base + ".grpc.pb.h", base + ".grpc.pb.cc"]

    # Debian's protoc and plugin, straight from /usr/bin: there is no protobuf source tree to
    # build them from offline. Inputs are the file and everything it may import.
    cmd = "/usr/bin/protoc -I{root} -I/usr/include --cpp_out=$(GENDIR)/{root} ".format(root = _PROTO_ROOT)
    if grpc:
        cmd += ("--grpc_out=$(GENDIR)/{root} " +
                "--plugin=protoc-gen-grpc=/usr/bin/grpc_cpp_plugin ").format(root = _PROTO_ROOT)
    cmd += "$(location {src})".format(src = src)

    native.genrule(
        name = name + "_gen",
        srcs = [src] + [d + "_srcs" for d in deps],
        outs = outs,
        cmd = cmd,
    )
    native.filegroup(
        name = name + "_srcs",
        srcs = [src] + [d + "_srcs" for d in deps],
    )

    runtime = ["@protobuf_lite"] if lite else ["@protobuf"]
    if grpc:
        runtime.append("@grpc")
    native.cc_library(
        name = name,
        srcs = [o for o in outs if o.endswith(".cc")],
        hdrs = [o for o in outs if o.endswith(".h")],
        strip_include_prefix = "/" + _PROTO_ROOT,
        copts = ["-Wno-unused-parameter"],
        deps = deps + runtime,
        visibility = visibility,
    )
