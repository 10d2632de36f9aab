// berth inspect and berth container inspect: containers (and, for `inspect`, images) as the
// JSON `docker inspect` prints, or through a --format template.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "berth/services/images/v1/images.grpc.pb.h"
#include "ctl/commands.h"
#include "ctl/container/inspect.h"
#include "ctl/container/template.h"
#include "ctl/container_api.h"
#include "ctl/container_query.h"
#include "ctl/image_format.h"
#include "ctl/image_info.h"

namespace berth::ctl {
namespace {

namespace ipb = berth::services::images::v1;
using json = nlohmann::json;
using ojson = nlohmann::ordered_json;

struct InspectFlags {
  std::string format, type;
  bool size = false;
  std::vector<std::string> names;
};

absl::StatusOr<ojson> InspectContainer(Client& client, ContainerApi& api, ImageCache& images,
                                       berth::services::containers::v1::Container record,
                                       bool size) {
  absl::StatusOr<ContainerView> v = api.View(std::move(record));
  if (!v.ok()) return v.status();
  InspectInput in;
  in.record = v->record;
  in.state = v->state;
  in.pid = v->task.has_value() ? v->task->pid() : 0;
  // By the recorded image ID, which outlives the name (Config.Image stays the name).
  in.image_id = images.IdOf(v->record);
  const ImageDetails* d = images.ImageOf(v->record);
  if (d != nullptr) in.image_config = d->config;
  ojson j = ContainerInspect(in);
  if (size) {
    const int64_t rw = SnapshotUsage(client, v->record);
    j["SizeRw"] = rw;
    j["SizeRootFs"] = rw + (d != nullptr ? d->size : 0);
  }
  return j;
}

// The image as `docker image inspect` shapes it (as `berth image inspect` does).
absl::StatusOr<ojson> InspectImage(Client& client, const ipb::Image& image) {
  absl::StatusOr<ImageDetails> d = DescribeImage(client, image);
  if (!d.ok()) return d.status();
  const RepoTag rt = SplitName(image.name());
  const json& cfg = d->config;
  return ojson{
      {"Id", d->id},
      {"RepoTags", rt.digest.empty() ? ojson::array({FamiliarName(image.name())}) : ojson::array()},
      {"RepoDigests",
       rt.digest.empty() ? ojson::array() : ojson::array({FamiliarName(image.name())})},
      {"Parent", ""},
      {"Comment", ""},
      {"Created", cfg.value("created", "")},
      {"Author", cfg.value("author", "")},
      {"Config", cfg.contains("config") ? ojson::parse(cfg["config"].dump()) : ojson::object()},
      {"Architecture", cfg.value("architecture", "")},
      {"Os", cfg.value("os", "")},
      {"Size", d->size},
      {"RootFS", cfg.contains("rootfs") ? ojson::parse(cfg["rootfs"].dump()) : ojson::object()},
      {"Metadata", {{"LastTagTime", "0001-01-01T00:00:00Z"}}},
  };
}

int RunInspect(const GlobalOptions& global, const InspectFlags& f) {
  if (!f.type.empty() && f.type != "container" && f.type != "image") {
    return Failed(absl::InvalidArgumentError(
        absl::StrCat("\"", f.type, "\" is not a valid value for --type")));
  }
  absl::optional<Template> tmpl;
  if (!f.format.empty()) {
    absl::StatusOr<Template> t = Template::Parse(f.format);
    if (!t.ok()) return Failed(t.status());
    tmpl = *t;
  }
  absl::StatusOr<std::unique_ptr<Client>> client = ConnectClient(global);
  if (!client.ok()) return Failed(client.status());
  ContainerApi api(**client);
  ImageCache images(**client);
  auto image_stub = ipb::Images::NewStub((*client)->channel());
  ojson out = ojson::array();
  int rc = 0;
  for (const std::string& name : f.names) {
    absl::StatusOr<ojson> j = absl::NotFoundError("");
    if (f.type != "image") {
      absl::StatusOr<berth::services::containers::v1::Container> c = api.Get(name);
      if (c.ok()) {
        j = InspectContainer(**client, api, images, *std::move(c), f.size);
      } else if (!absl::IsNotFound(c.status())) {
        j = c.status();
      }
    }
    if (absl::IsNotFound(j.status()) && f.type != "container") {
      ipb::GetImageRequest req;
      req.set_name(name);
      ipb::GetImageResponse resp;
      grpc::Status st = image_stub->Get((*client)->Context().get(), req, &resp);
      if (st.ok()) {
        j = InspectImage(**client, resp.image());
      } else if (st.error_code() != grpc::StatusCode::NOT_FOUND) {
        j = CallError(**client, st);
      }
    }
    if (absl::IsNotFound(j.status()) && j.status().message().empty()) {
      const char* what = f.type == "container" ? "container"
                         : f.type == "image"   ? "image"
                                               : "object";
      j = absl::NotFoundError(absl::StrCat("No such ", what, ": ", name));
    }
    if (!j.ok()) {
      rc = Failed(j.status());
      continue;
    }
    if (tmpl.has_value()) {
      absl::StatusOr<std::string> line = tmpl->Execute(json::parse(j->dump()));
      if (!line.ok()) {
        rc = Failed(line.status());
        continue;
      }
      std::printf("%s\n", line->c_str());
      continue;
    }
    out.push_back(*std::move(j));
  }
  if (!tmpl.has_value()) {
    std::printf("%s\n", out.dump(4, ' ', false, json::error_handler_t::replace).c_str());
  }
  return rc;
}

void AddFlags(CLI::App* cmd, InspectFlags* f, bool type, const std::string& what) {
  cmd->add_option("-f,--format", f->format, "format the output using the given Go template");
  cmd->add_flag("-s,--size", f->size, "display total file sizes (containers)");
  if (type) {
    cmd->add_option("--type", f->type, "return JSON for the specified type (container, image)");
  }
  cmd->add_option("NAME", f->names, what)->required();
}

}  // namespace

void AddInspectCommand(CLI::App& app, Run* run) {
  auto f = std::make_shared<InspectFlags>();
  CLI::App* cmd = app.add_subcommand("inspect", "Return low-level information on berth objects");
  AddFlags(cmd, f.get(), /*type=*/true, "containers or images, by name or (prefix of) id");
  cmd->callback([run, f] { *run = [f](const GlobalOptions& g) { return RunInspect(g, *f); }; });
}

void AddContainerInspectCommand(CLI::App& container, Run* run) {
  auto f = std::make_shared<InspectFlags>();
  f->type = "container";
  CLI::App* cmd =
      container.add_subcommand("inspect", "Display detailed information on one or more containers");
  AddFlags(cmd, f.get(), /*type=*/false, "containers, by name or (prefix of) id");
  cmd->callback([run, f] { *run = [f](const GlobalOptions& g) { return RunInspect(g, *f); }; });
}

}  // namespace berth::ctl
