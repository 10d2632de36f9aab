#include "services/content/content_service.h"

#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/filter.h"
#include "common/grpc_status.h"
#include "common/status_macros.h"
#include "services/common/proto_time.h"
#include "services/common/request_metadata.h"
#include "spdlog/spdlog.h"

namespace berth::services {
namespace {

namespace pb = berth::services::content::v1;

// Big enough to amortise per-message cost, well under gRPC's 4 MiB default message limit.
constexpr size_t kReadChunk = 1 << 20;
constexpr int kListBatch = 100;

void ToProto(const ::berth::content::Info& in, pb::Info* out) {
  out->set_digest(in.digest);
  out->set_size(in.size);
  services::ToProto(in.created_at, out->mutable_created_at());
  services::ToProto(in.updated_at, out->mutable_updated_at());
  out->mutable_labels()->insert(in.labels.begin(), in.labels.end());
}

void ToProto(const ::berth::content::IngestStatus& in, pb::Status* out) {
  out->set_ref(in.ref);
  out->set_offset(in.offset);
  out->set_total(in.total);
  out->set_expected(in.expected);
  services::ToProto(in.started_at, out->mutable_started_at());
  services::ToProto(in.updated_at, out->mutable_updated_at());
}

absl::optional<std::string> InfoField(const ::berth::content::Info& info,
                                      const std::vector<std::string>& f) {
  if (f.size() == 1 && f[0] == "digest") return info.digest;
  if (f.size() == 1 && f[0] == "size") return absl::StrCat(info.size);
  if (f.size() == 2 && f[0] == "labels") {
    auto it = info.labels.find(f[1]);
    if (it != info.labels.end()) return it->second;
  }
  return absl::nullopt;
}

absl::optional<std::string> StatusField(const pb::Status& s, const std::vector<std::string>& f) {
  if (f.size() == 1 && f[0] == "ref") return s.ref();
  if (f.size() == 1 && f[0] == "expected") return s.expected();
  return absl::nullopt;
}

absl::StatusOr<Digest> ParseDigest(const std::string& text, absl::string_view call) {
  absl::StatusOr<Digest> d = Digest::Parse(text);
  if (!d.ok()) return Annotate(d.status(), call);
  return d;
}

}  // namespace

ContentService::ContentService(std::shared_ptr<::berth::content::ContentStore> store,
                               std::function<absl::Status()> collect)
    : store_(std::move(store)), collect_(std::move(collect)) {}

grpc::Status ContentService::Info(grpc::ServerContext* context, const pb::InfoRequest* request,
                                  pb::InfoResponse* response) {
  absl::StatusOr<std::string> ns = RequestNamespace(*context);
  if (!ns.ok()) return ToGrpcStatus(ns.status());
  absl::StatusOr<Digest> d = ParseDigest(request->digest(), "content Info");
  if (!d.ok()) return ToGrpcStatus(d.status());
  absl::StatusOr<::berth::content::Info> info = store_->GetInfo(*ns, *d);
  if (!info.ok()) return ToGrpcStatus(info.status());
  ToProto(*info, response->mutable_info());
  return grpc::Status::OK;
}

grpc::Status ContentService::Update(grpc::ServerContext* context, const pb::UpdateRequest* request,
                                    pb::UpdateResponse* response) {
  absl::StatusOr<std::string> ns = RequestNamespace(*context);
  if (!ns.ok()) return ToGrpcStatus(ns.status());
  absl::StatusOr<Digest> d = ParseDigest(request->info().digest(), "content Update");
  if (!d.ok()) return ToGrpcStatus(d.status());
  ::berth::content::Info info{
      .digest = d->ToString(),
      .labels = {request->info().labels().begin(), request->info().labels().end()}};
  std::vector<std::string> paths(request->update_mask().paths().begin(),
                                 request->update_mask().paths().end());
  absl::StatusOr<::berth::content::Info> updated = store_->Update(*ns, info, paths);
  if (!updated.ok()) return ToGrpcStatus(updated.status());
  ToProto(*updated, response->mutable_info());
  return grpc::Status::OK;
}

grpc::Status ContentService::List(grpc::ServerContext* context,
                                  const pb::ListContentRequest* request,
                                  grpc::ServerWriter<pb::ListContentResponse>* writer) {
  absl::StatusOr<std::string> ns = RequestNamespace(*context);
  if (!ns.ok()) return ToGrpcStatus(ns.status());
  absl::StatusOr<Filter> filter =
      Filter::Parse({request->filters().begin(), request->filters().end()});
  if (!filter.ok()) return ToGrpcStatus(filter.status());
  pb::ListContentResponse batch;
  auto flush = [&]() -> absl::Status {
    if (batch.info_size() == 0) return absl::OkStatus();
    if (!writer->Write(batch)) return absl::CancelledError("content List: client went away");
    batch.Clear();
    return absl::OkStatus();
  };
  absl::Status st = store_->List(*ns, [&](const ::berth::content::Info& info) -> absl::Status {
    if (!filter->Match([&](const std::vector<std::string>& f) { return InfoField(info, f); })) {
      return absl::OkStatus();
    }
    ToProto(info, batch.add_info());
    return batch.info_size() >= kListBatch ? flush() : absl::OkStatus();
  });
  if (st.ok()) st = flush();
  return ToGrpcStatus(st);
}

grpc::Status ContentService::Delete(grpc::ServerContext* context,
                                    const pb::DeleteContentRequest* request,
                                    google::protobuf::Empty*) {
  absl::StatusOr<std::string> ns = RequestNamespace(*context);
  if (!ns.ok()) return ToGrpcStatus(ns.status());
  absl::StatusOr<Digest> d = ParseDigest(request->digest(), "content Delete");
  if (!d.ok()) return ToGrpcStatus(d.status());
  if (absl::Status st = store_->Delete(*ns, *d); !st.ok()) return ToGrpcStatus(st);
  // The record is gone, which is what the caller asked; the bytes follow at collection, and a
  // failed collection is retried by the next one.
  if (absl::Status st = collect_(); !st.ok()) {
    spdlog::warn("garbage collection after deleting {} in namespace {}: {}", d->ToString(), *ns,
                 st.ToString());
  }
  return grpc::Status::OK;
}

grpc::Status ContentService::Read(grpc::ServerContext* context,
                                  const pb::ReadContentRequest* request,
                                  grpc::ServerWriter<pb::ReadContentResponse>* writer) {
  absl::StatusOr<std::string> ns = RequestNamespace(*context);
  if (!ns.ok()) return ToGrpcStatus(ns.status());
  absl::StatusOr<Digest> d = ParseDigest(request->digest(), "content Read");
  if (!d.ok()) return ToGrpcStatus(d.status());
  absl::StatusOr<std::unique_ptr<::berth::content::Reader>> reader = store_->Open(*ns, *d);
  if (!reader.ok()) return ToGrpcStatus(reader.status());
  const int64_t size = (*reader)->size();
  if (request->offset() < 0 || request->size() < 0 || request->offset() > size) {
    return grpc::Status(
        grpc::StatusCode::OUT_OF_RANGE,
        absl::StrCat("content Read of ", d->ToString(), ": offset ", request->offset(),
                     " and size ", request->size(), " are outside the blob's ", size, " bytes"));
  }
  int64_t offset = request->offset();
  const int64_t end = request->size() == 0 ? size : std::min(size, offset + request->size());
  pb::ReadContentResponse chunk;
  std::string* data = chunk.mutable_data();
  while (offset < end) {
    if (context->IsCancelled()) return grpc::Status::CANCELLED;
    const size_t want = static_cast<size_t>(std::min<int64_t>(kReadChunk, end - offset));
    data->resize(want);
    absl::StatusOr<size_t> got = (*reader)->ReadAt(offset, data->data(), want);
    if (!got.ok()) return ToGrpcStatus(got.status());
    if (*got == 0) {
      return ToGrpcStatus(absl::DataLossError(absl::StrCat(
          "content ", d->ToString(), " is shorter than recorded: no data at offset ", offset)));
    }
    data->resize(*got);
    chunk.set_offset(offset);
    if (!writer->Write(chunk)) return grpc::Status::CANCELLED;
    offset += static_cast<int64_t>(*got);
  }
  return grpc::Status::OK;
}

grpc::Status ContentService::Status(grpc::ServerContext* context, const pb::StatusRequest* request,
                                    pb::StatusResponse* response) {
  absl::StatusOr<std::string> ns = RequestNamespace(*context);
  if (!ns.ok()) return ToGrpcStatus(ns.status());
  absl::StatusOr<::berth::content::IngestStatus> s = store_->Status(*ns, request->ref());
  if (!s.ok()) return ToGrpcStatus(s.status());
  ToProto(*s, response->mutable_status());
  return grpc::Status::OK;
}

grpc::Status ContentService::ListStatuses(grpc::ServerContext* context,
                                          const pb::ListStatusesRequest* request,
                                          pb::ListStatusesResponse* response) {
  absl::StatusOr<std::string> ns = RequestNamespace(*context);
  if (!ns.ok()) return ToGrpcStatus(ns.status());
  absl::StatusOr<Filter> filter =
      Filter::Parse({request->filters().begin(), request->filters().end()});
  if (!filter.ok()) return ToGrpcStatus(filter.status());
  absl::StatusOr<std::vector<::berth::content::IngestStatus>> all = store_->ListStatuses(*ns);
  if (!all.ok()) return ToGrpcStatus(all.status());
  for (const ::berth::content::IngestStatus& s : *all) {
    pb::Status p;
    ToProto(s, &p);
    if (filter->Match([&](const std::vector<std::string>& f) { return StatusField(p, f); })) {
      *response->add_statuses() = std::move(p);
    }
  }
  return grpc::Status::OK;
}

grpc::Status ContentService::Abort(grpc::ServerContext* context, const pb::AbortRequest* request,
                                   google::protobuf::Empty*) {
  absl::StatusOr<std::string> ns = RequestNamespace(*context);
  if (!ns.ok()) return ToGrpcStatus(ns.status());
  return ToGrpcStatus(store_->Abort(*ns, request->ref()));
}

grpc::Status ContentService::Write(
    grpc::ServerContext* context,
    grpc::ServerReaderWriter<pb::WriteContentResponse, pb::WriteContentRequest>* stream) {
  return ToGrpcStatus(DoWrite(context, stream));
}

absl::Status ContentService::DoWrite(
    grpc::ServerContext* context,
    grpc::ServerReaderWriter<pb::WriteContentResponse, pb::WriteContentRequest>* stream) {
  ASSIGN_OR_RETURN(std::string ns, RequestNamespace(*context));
  ASSIGN_OR_RETURN(std::string lease, RequestLease(*context));
  pb::WriteContentRequest req;
  if (!stream->Read(&req)) return absl::OkStatus();  // an empty stream asks nothing
  if (req.ref().empty()) {
    return absl::InvalidArgumentError("content Write: the first message must carry a ref");
  }
  const std::string ref = req.ref();
  ASSIGN_OR_RETURN(
      std::unique_ptr<::berth::content::Writer> w,
      store_->OpenWriter(
          ns, {.ref = ref, .total = req.total(), .expected = req.expected(), .lease = lease}));
  const std::string what = absl::StrCat("content Write of ref \"", ref, "\"");
  do {
    if (!req.ref().empty() && req.ref() != ref) {
      return absl::InvalidArgumentError(
          absl::StrCat(what, ": a later message names another ref \"", req.ref(), "\""));
    }
    RETURN_IF_ERROR(w->SetExpected(req.total(), req.expected()));
    const pb::WriteAction action = req.action();
    if (action != pb::STAT && action != pb::WRITE && action != pb::COMMIT) {
      return absl::InvalidArgumentError(absl::StrCat(what, ": unknown action ", action));
    }
    if (!req.data().empty()) {
      const int64_t at = w->Status().offset;
      if (req.offset() == 0 && at != 0) {
        RETURN_IF_ERROR(w->Truncate());  // the client starts over
      } else if (req.offset() != at) {
        return absl::OutOfRangeError(absl::StrCat(what, ": data at offset ", req.offset(),
                                                  ", but the ingest has ", at,
                                                  " bytes; STAT to resume"));
      }
      RETURN_IF_ERROR(w->Write(req.data()));
    }
    pb::WriteContentResponse resp;
    resp.set_action(action);
    if (action == pb::COMMIT) {
      ASSIGN_OR_RETURN(::berth::content::Info info,
                       w->Commit({req.labels().begin(), req.labels().end()}));
      resp.set_offset(info.size);
      resp.set_total(info.size);
      resp.set_digest(info.digest);
      services::ToProto(info.created_at, resp.mutable_started_at());
      services::ToProto(info.updated_at, resp.mutable_updated_at());
      stream->Write(resp);
      return absl::OkStatus();
    }
    const ::berth::content::IngestStatus s = w->Status();
    resp.set_offset(s.offset);
    resp.set_total(s.total);
    services::ToProto(s.started_at, resp.mutable_started_at());
    services::ToProto(s.updated_at, resp.mutable_updated_at());
    // Hashing the bytes so far costs a context copy: only a STAT asks for it.
    if (action == pb::STAT) resp.set_digest(w->DigestSoFar().ToString());
    if (!stream->Write(resp)) return absl::OkStatus();  // client gone; the ingest stays
  } while (stream->Read(&req));
  return absl::OkStatus();
}

}  // namespace berth::services
