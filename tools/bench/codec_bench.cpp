// Modbus codec benchmark: decode of a 10-register read response and encode of a read request,
// per framing, plus the CRC alone and a whole RTU transaction.
//
// Codec issue goals: ≥ 10 M RTU response decodes per second on one core (CRC included), and
// zero heap allocations per message after warm-up. Allocations are counted by a global
// operator new in this binary and reported as the `allocs/iter` counter of every benchmark.
// Run: codec_bench (the binary prints the command that reproduces its numbers).
#include <benchmark/benchmark.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <new>
#include <string>
#include <vector>

#include "modbus/crc.hpp"
#include "modbus/framer.hpp"
#include "modbus/pdu.hpp"
#include "modbus/transaction.hpp"

#include "alloc_scope.hpp"  // this program counts its allocations

namespace {

using namespace pollux::modbus;

using pollux::bench::AllocScope;

const Request kRead = Request::read(FunctionCode::read_holding_registers, 100, 10);

// The ADU of the answer to kRead on `framing`.
AduBuffer response_adu(Framer& f) {
  PduBuffer pdu;
  std::uint16_t regs[10];
  for (int i = 0; i < 10; ++i)
    regs[i] = static_cast<std::uint16_t>(1000 + i);
  encode_response(kRead, regs, pdu);
  AduBuffer adu;
  f.encode(17, pdu.span(), adu, 1);
  return adu;
}

void BM_DecodeResponse(benchmark::State& state) {
  const auto framing = static_cast<Framing>(state.range(0));
  auto framer = make_framer(framing);
  framer->expect({17, 3, framing == Framing::tcp ? 1 : -1});
  const AduBuffer adu = response_adu(*framer);
  ResponseView view;
  auto decode_one = [&] {
    const FeedResult r = framer->feed(adu.span());
    if (r.status != FeedStatus::frame || decode_response(kRead, r.frame.pdu, view)) {
      state.SkipWithError("decode failed");
      return;
    }
    benchmark::DoNotOptimize(view.register_at(9));
  };
  for (int i = 0; i < 100; ++i)
    decode_one();  // warm-up
  {
    AllocScope allocs(state);
    for (auto _ : state)
      decode_one();
  }
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(adu.size));
  state.SetLabel(std::string(to_string(framing)));
}

void BM_EncodeRequest(benchmark::State& state) {
  const auto framing = static_cast<Framing>(state.range(0));
  auto framer = make_framer(framing);
  PduBuffer pdu;
  AduBuffer adu;
  auto encode_one = [&] {
    encode_request(kRead, pdu);
    framer->encode(17, pdu.span(), adu, framer->next_transaction());
    benchmark::DoNotOptimize(adu.bytes.data());
  };
  for (int i = 0; i < 100; ++i)
    encode_one();
  {
    AllocScope allocs(state);
    for (auto _ : state)
      encode_one();
  }
  state.SetItemsProcessed(state.iterations());
  state.SetLabel(std::string(to_string(framing)));
}

// A whole exchange as the ChannelRunner drives it: start, written, answer bytes, done.
void BM_RtuTransaction(benchmark::State& state) {
  RtuFramer framer;
  Transaction tx(framer);
  const AduBuffer answer = response_adu(framer);
  auto one = [&] {
    tx.start(kRead, 17, std::chrono::milliseconds(1000));
    tx.on_written();
    const Action a = tx.on_bytes(answer.span());
    if (a.kind != ActionKind::done || a.error) state.SkipWithError("transaction failed");
    benchmark::DoNotOptimize(tx.response().register_at(9));
  };
  for (int i = 0; i < 100; ++i)
    one();
  {
    AllocScope allocs(state);
    for (auto _ : state)
      one();
  }
  state.SetItemsProcessed(state.iterations());
}

// A write of 10 registers: the request's values are copied into the Transaction, whose vector
// keeps its capacity, so after warm-up this allocates nothing either.
void BM_RtuWriteTransaction(benchmark::State& state) {
  RtuFramer framer;
  Transaction tx(framer);
  const Request write = Request::write_registers(100, {1, 2, 3, 4, 5, 6, 7, 8, 9, 10});
  PduBuffer echo;
  encode_response(write, {}, echo);
  AduBuffer answer;
  framer.encode(17, echo.span(), answer);
  auto one = [&] {
    tx.start(write, 17, std::chrono::milliseconds(1000));
    tx.on_written();
    const Action a = tx.on_bytes(answer.span());
    if (a.kind != ActionKind::done || a.error) state.SkipWithError("write failed");
  };
  for (int i = 0; i < 100; ++i)
    one();
  {
    AllocScope allocs(state);
    for (auto _ : state)
      one();
  }
  state.SetItemsProcessed(state.iterations());
}

// Proves the counter counts: one vector allocation per iteration must show allocs/iter=1.
void BM_AllocCounterSelfCheck(benchmark::State& state) {
  AllocScope allocs(state);
  for (auto _ : state) {
    std::vector<int> v(16);
    benchmark::DoNotOptimize(v.data());
  }
}

void BM_Crc16(benchmark::State& state) {
  std::uint8_t frame[23];
  for (int i = 0; i < 23; ++i)
    frame[i] = static_cast<std::uint8_t>(i * 13);
  for (auto _ : state)
    benchmark::DoNotOptimize(crc16(frame));
  state.SetBytesProcessed(state.iterations() * 23);
}

void framings(benchmark::internal::Benchmark* b) {
  for (Framing f : {Framing::rtu, Framing::ascii, Framing::tcp, Framing::rtu_over_tcp}) {
    b->Arg(static_cast<int>(f));
  }
}

BENCHMARK(BM_DecodeResponse)->Apply(framings);
BENCHMARK(BM_EncodeRequest)->Apply(framings);
BENCHMARK(BM_RtuTransaction);
BENCHMARK(BM_RtuWriteTransaction);
BENCHMARK(BM_Crc16);
BENCHMARK(BM_AllocCounterSelfCheck);

}  // namespace

int main(int argc, char** argv) {
  std::string args;
  for (int i = 1; i < argc; ++i)
    args += " " + std::string(argv[i]);
  std::printf(
      "reproduce: tools/build.sh release && taskset -c 0 build/release/tools/bench/codec_bench%s\n"
      "framings: 0=rtu 1=ascii 2=tcp 3=rtu-over-tcp; goal: BM_DecodeResponse/0 >= 10M items/s "
      "(CPU time, one core), allocs/iter = 0\n",
      args.c_str());
  std::fflush(stdout);
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
