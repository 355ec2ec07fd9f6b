#include "redundancy/machine.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <optional>

#include "redundancy/backoff.hpp"
#include "runtime/manual_executor.hpp"

namespace pollux::redundancy {
namespace {

using config::Recovery;
using config::RedundancyMode;
using config::RedundancySettings;
using config::Standby;
using runtime::milliseconds;

}  // namespace

void PrintTo(Activity a, std::ostream* os) {
  *os << to_string(a);
}

namespace {

RedundancySettings settings(Recovery recovery = Recovery::automatic,
                            Standby standby = Standby::cold) {
  RedundancySettings s;
  s.psk = "k";
  s.heartbeat_interval_ms = 500;
  s.failover_timeout_ms = 3000;
  s.startup_allowance_ms = 5000;
  s.recovery = recovery;
  s.standby = standby;
  return s;
}

std::vector<EffectKind> kinds(const Decision& d) {
  std::vector<EffectKind> k;
  for (const auto& e : d.effects)
    k.push_back(e.kind);
  return k;
}

// One machine whose deadlines run on a ManualExecutor, as the node will wire it.
struct Solo {
  runtime::ManualExecutor ex;
  Machine m;
  runtime::TimerId timer;
  std::vector<Effect> effects;

  Solo(RedundancyMode mode, RedundancySettings s) : m(mode, s) {}
  Decision apply(Decision d) {
    effects.insert(effects.end(), d.effects.begin(), d.effects.end());
    if (timer) ex.cancel(timer);
    timer = {};
    // As the controller does: a timer's lateness counts from its due time, or from arming it
    // when that was already past.
    if (auto due = m.next_deadline()) {
      const auto on_time = std::max(*due, ex.now());
      timer = ex.schedule_at(*due, [this, on_time] {
        timer = {};
        apply(m.on_timer(ex.now(), ex.now() - on_time));
      });
    }
    return d;
  }
  // The stall watch as the controller registers it (Executor::watch_stalls).
  void start() {
    apply(m.start(ex.now()));
    ex.watch_stalls(m.stall_threshold(),
                    [this](runtime::Duration late) { apply(m.on_stalled(ex.now(), late)); });
  }
  // A master whose backup connected standby: active at once.
  void start_beside_a_standby_backup() {
    start();
    apply(m.on_authenticated(ex.now()));
    apply(m.on_peer_heard(ex.now(), Activity::standby));
  }
};

TEST(RedundancyMachine, IndependentIsAlwaysActiveAndRefusesCommands) {
  Solo s(RedundancyMode::independent, settings());
  s.start();
  EXPECT_EQ(s.m.activity(), Activity::active);
  EXPECT_FALSE(s.m.next_deadline());
  EXPECT_EQ(s.m.force_failover(s.ex.now()).refusal, "node is not part of a redundant pair");
  EXPECT_FALSE(s.m.recover(s.ex.now()).accepted);
  s.ex.advance(runtime::seconds(60));
  EXPECT_EQ(s.m.activity(), Activity::active);
  EXPECT_TRUE(s.m.transitions().empty());
}

TEST(RedundancyMachine, MasterBecomesActiveWhenStartupAllowanceExpires) {
  Solo s(RedundancyMode::master, settings());
  const auto t0 = s.ex.now();
  s.start();
  EXPECT_EQ(s.m.activity(), Activity::standby);
  s.ex.advance(milliseconds(4999));
  EXPECT_EQ(s.m.activity(), Activity::standby);
  EXPECT_TRUE(s.effects.empty());
  s.ex.advance(milliseconds(1));
  EXPECT_EQ(s.m.activity(), Activity::active);
  ASSERT_EQ(s.m.transitions().size(), 1u);
  const Transition& t = s.m.transitions().front();
  EXPECT_EQ(t.seq, 1u);
  EXPECT_EQ(t.time, t0 + milliseconds(5000));
  EXPECT_EQ(t.from, Activity::standby);
  EXPECT_EQ(t.to, Activity::active);
  EXPECT_EQ(t.reason, "startup_allowance_expired");
  ASSERT_EQ(s.effects.size(), 1u);
  EXPECT_EQ(s.effects[0].kind, EffectKind::become_active);
  // Once active, silence from the backup changes nothing.
  s.ex.advance(runtime::seconds(60));
  EXPECT_EQ(s.m.transitions().size(), 1u);
}

TEST(RedundancyMachine, MasterActiveAtOnceWhenBackupConnectsStandby) {
  Solo s(RedundancyMode::master, settings());
  s.start();
  s.ex.advance(milliseconds(1200));
  s.apply(s.m.on_connected(s.ex.now()));
  s.apply(s.m.on_authenticated(s.ex.now()));
  EXPECT_EQ(s.m.activity(), Activity::standby);  // activity unknown until the first heartbeat
  Decision d = s.apply(s.m.on_peer_heard(s.ex.now(), Activity::standby));
  EXPECT_EQ(kinds(d), std::vector{EffectKind::become_active});
  EXPECT_EQ(s.m.activity(), Activity::active);
  ASSERT_EQ(d.transitions.size(), 1u);
  EXPECT_EQ(d.transitions[0].reason, "backup_standby");
  EXPECT_EQ(d.transitions[0].time, s.ex.now());
}

TEST(RedundancyMachine, MasterStaysStandbyWhenBackupActiveAndRecoveryManual) {
  Solo s(RedundancyMode::master, settings(Recovery::manual));
  s.start();
  s.apply(s.m.on_authenticated(s.ex.now()));
  Decision d = s.apply(s.m.on_peer_heard(s.ex.now(), Activity::active));
  EXPECT_TRUE(d.empty());
  // Heartbeats keep coming; the allowance passing changes nothing.
  for (int i = 0; i < 40; ++i) {
    s.ex.advance(milliseconds(500));
    s.apply(s.m.on_peer_heard(s.ex.now(), Activity::active));
  }
  EXPECT_EQ(s.m.activity(), Activity::standby);
  EXPECT_TRUE(s.effects.empty());
  EXPECT_TRUE(s.m.transitions().empty());
}

TEST(RedundancyMachine, MasterRequestsHandoverWhenBackupActiveAndRecoveryAutomatic) {
  Solo s(RedundancyMode::master, settings(Recovery::automatic));
  s.start();
  s.apply(s.m.on_authenticated(s.ex.now()));
  Decision d = s.apply(s.m.on_peer_heard(s.ex.now(), Activity::active));
  ASSERT_EQ(kinds(d), std::vector{EffectKind::send_handover_request});
  EXPECT_EQ(d.effects[0].reason, "master_back");
  EXPECT_EQ(s.m.activity(), Activity::standby);  // not before the backup's ports are closed
  EXPECT_TRUE(s.m.handover_in_progress());
  // The backup's "standby" heartbeat while it closes its ports must not make us active.
  d = s.apply(s.m.on_peer_heard(s.ex.now(), Activity::standby));
  EXPECT_TRUE(d.empty());
  d = s.apply(s.m.on_handover_ack(s.ex.now(), "master_back"));
  EXPECT_EQ(kinds(d), (std::vector{EffectKind::become_active, EffectKind::send_handover_done}));
  EXPECT_EQ(d.transitions.at(0).reason, "master_back");
}

// Transitions 1 and 5: the backup's connection is up when the allowance runs out, its activity
// not yet heard. It may be active, so the master waits for its heartbeat and takes activity
// only through the handover; it never opens ports beside an active backup.
TEST(RedundancyMachine, MasterWaitsPastItsAllowanceForAConnectingBackupsActivity) {
  for (bool authenticated_in_time : {false, true}) {
    Solo s(RedundancyMode::master, settings());
    s.start();
    s.ex.advance(milliseconds(4990));
    s.apply(s.m.on_connected(s.ex.now()));
    if (authenticated_in_time) s.apply(s.m.on_authenticated(s.ex.now()));
    s.ex.advance(milliseconds(10));  // the allowance runs out mid-handshake
    EXPECT_EQ(s.m.activity(), Activity::standby) << authenticated_in_time;
    s.ex.advance(milliseconds(300));
    s.apply(s.m.on_authenticated(s.ex.now()));
    s.ex.advance(milliseconds(100));
    EXPECT_EQ(s.m.activity(), Activity::standby) << authenticated_in_time;
    EXPECT_TRUE(s.effects.empty()) << authenticated_in_time;
    Decision d = s.apply(s.m.on_peer_heard(s.ex.now(), Activity::active));
    EXPECT_EQ(kinds(d), std::vector{EffectKind::send_handover_request});
    d = s.apply(s.m.on_handover_ack(s.ex.now(), "master_back"));
    EXPECT_EQ(kinds(d), (std::vector{EffectKind::become_active, EffectKind::send_handover_done}));
    ASSERT_EQ(s.m.transitions().size(), 1u);
    EXPECT_EQ(s.m.transitions()[0].reason, "master_back");
  }
}

TEST(RedundancyMachine, MasterAllowanceWaitForAConnectingBackupIsBounded) {
  // A handshake that never finishes: the link drops it after failover_timeout_ms, and the
  // machine's own bound (the same, from the connection) ends the wait anyway.
  Solo s(RedundancyMode::master, settings());
  const auto t0 = s.ex.now();
  s.start();
  s.ex.advance(milliseconds(4900));
  s.apply(s.m.on_connected(s.ex.now()));
  EXPECT_EQ(*s.m.next_deadline(), t0 + milliseconds(4900 + 3000));
  s.ex.advance(milliseconds(2999));
  EXPECT_EQ(s.m.activity(), Activity::standby);
  s.ex.advance(milliseconds(1));
  EXPECT_EQ(s.m.activity(), Activity::active);
  EXPECT_EQ(s.m.transitions().back().reason, "startup_allowance_expired");

  // The connection drops (or fails authentication) after the allowance: active at once.
  for (bool auth_failure : {false, true}) {
    Solo r(RedundancyMode::master, settings());
    r.start();
    r.ex.advance(milliseconds(4900));
    r.apply(r.m.on_connected(r.ex.now()));
    r.ex.advance(milliseconds(400));
    EXPECT_EQ(r.m.activity(), Activity::standby);
    r.apply(auth_failure ? r.m.on_auth_failed(r.ex.now()) : r.m.on_link_down(r.ex.now()));
    r.ex.advance(milliseconds(0));
    EXPECT_EQ(r.m.activity(), Activity::active) << auth_failure;
    EXPECT_EQ(r.m.transitions().back().time, t0 + milliseconds(5300));
  }

  // A backup heard before the allowance ends changes nothing in the classic case: the wait is
  // for activity, not for a connection, and a standby backup makes the master active at once.
  Solo q(RedundancyMode::master, settings());
  q.start();
  q.ex.advance(milliseconds(100));
  q.apply(q.m.on_connected(q.ex.now()));
  q.apply(q.m.on_link_down(q.ex.now()));
  EXPECT_EQ(*q.m.next_deadline(), t0 + milliseconds(5000));
}

TEST(RedundancyMachine, MasterDoesNotActBeforeHearingTheBackupOrTheAllowanceEnds) {
  // Nothing before the allowance ends but the backup's reported activity makes the master
  // active: connections, authentication and activity-less messages open no port.
  Solo s(RedundancyMode::master, settings());
  s.start();
  for (int i = 0; i < 9; ++i) {
    s.ex.advance(milliseconds(500));
    s.apply(s.m.on_connected(s.ex.now()));
    s.apply(s.m.on_authenticated(s.ex.now()));
    s.apply(s.m.on_peer_heard(s.ex.now(), std::nullopt));
    s.apply(s.m.on_link_down(s.ex.now()));
  }
  EXPECT_EQ(s.m.activity(), Activity::standby);
  EXPECT_TRUE(s.effects.empty());
  s.ex.advance(milliseconds(500));
  EXPECT_EQ(s.m.activity(), Activity::active);
  EXPECT_EQ(s.m.transitions().back().reason, "startup_allowance_expired");
}

TEST(RedundancyMachine, BackupTakesOverAfterSilence) {
  Solo s(RedundancyMode::backup, settings());
  s.start();
  s.apply(s.m.on_authenticated(s.ex.now()));
  for (int i = 0; i < 10; ++i) {
    s.ex.advance(milliseconds(500));
    s.apply(s.m.on_peer_heard(s.ex.now(), Activity::active));
  }
  const auto last = s.ex.now();
  s.apply(s.m.on_link_down(s.ex.now()));
  s.ex.advance(milliseconds(2999));
  EXPECT_EQ(s.m.activity(), Activity::standby);
  s.ex.advance(milliseconds(1));
  EXPECT_EQ(s.m.activity(), Activity::active);
  ASSERT_EQ(s.m.transitions().size(), 1u);
  EXPECT_EQ(s.m.transitions()[0].reason, "master_lost");
  EXPECT_EQ(s.m.transitions()[0].time, last + milliseconds(3000));
  EXPECT_EQ(s.effects.back().kind, EffectKind::become_active);
}

// The soak (issue 24, seed 6) stopped a backup with SIGSTOP for 6.4 s beside a live master; on
// SIGCONT its overdue silence timer ran before the link's waiting input and it went active for
// a third of a second. Its own pause is no proof of the master's silence: it listens first.
TEST(RedundancyMachine, ABackupResumedFromAPauseListensBeforeItTakesOver) {
  Solo s(RedundancyMode::backup, settings());
  s.start();
  s.apply(s.m.on_authenticated(s.ex.now()));
  s.apply(s.m.on_peer_heard(s.ex.now(), Activity::active));
  s.ex.advance(milliseconds(1000));
  s.ex.pause(milliseconds(6400));  // SIGSTOP ... SIGCONT
  s.ex.advance(milliseconds(0));   // the overdue silence timer runs first
  EXPECT_EQ(s.m.activity(), Activity::standby);
  EXPECT_TRUE(s.m.transitions().empty());
  s.ex.advance(milliseconds(340));  // the link reconnects: the master is heard
  s.apply(s.m.on_peer_heard(s.ex.now(), Activity::active));
  s.ex.advance(milliseconds(2999));
  EXPECT_EQ(s.m.activity(), Activity::standby);
  EXPECT_TRUE(s.m.transitions().empty());
  EXPECT_TRUE(s.effects.empty());
}

// A master that really died while the backup was paused is taken over once the backup has heard
// nothing for a whole failover timeout after it resumed; a timer a little late (a busy CPU,
// within a heartbeat interval) changes nothing.
TEST(RedundancyMachine, AMasterThatDiedDuringThePauseIsTakenOverAfterAWholeTimeout) {
  Solo s(RedundancyMode::backup, settings());
  s.start();
  s.apply(s.m.on_authenticated(s.ex.now()));
  s.apply(s.m.on_peer_heard(s.ex.now(), Activity::active));
  s.apply(s.m.on_link_down(s.ex.now()));
  s.ex.pause(milliseconds(6400));
  s.ex.advance(milliseconds(0));
  const auto resumed = s.ex.now();
  EXPECT_EQ(s.m.activity(), Activity::standby);
  s.ex.pause(milliseconds(3400));  // late by 400 ms: less than the 500 ms heartbeat interval
  s.ex.advance(milliseconds(0));
  EXPECT_EQ(s.m.activity(), Activity::active);
  ASSERT_EQ(s.m.transitions().size(), 1u);
  EXPECT_EQ(s.m.transitions()[0].reason, "master_lost");
  EXPECT_EQ(s.m.transitions()[0].time, resumed + milliseconds(3400));
}

// The soak (issue 24, seed 11) stopped the active master with SIGSTOP for longer than the
// failover timeout; the backup rightly took over, and on SIGCONT the master, still active, ran
// its overdue polls on the serial line beside the backup's. Away that long, it now goes standby
// before anything overdue runs, and asks for activity back as a restarted master does.
TEST(RedundancyMachine, AnActiveMasterResumedFromAStallGoesStandbyThenAsksForActivityBack) {
  Solo s(RedundancyMode::master, settings());
  s.start_beside_a_standby_backup();
  ASSERT_EQ(s.m.activity(), Activity::active);
  std::optional<Activity> seen_by_overdue_work;
  s.ex.schedule_after(milliseconds(200), [&] { seen_by_overdue_work = s.m.activity(); });
  s.effects.clear();
  s.ex.pause(milliseconds(4000));  // SIGSTOP ... SIGCONT: the backup took over meanwhile
  s.ex.advance(milliseconds(0));
  EXPECT_EQ(seen_by_overdue_work, Activity::standby) << "the overdue poll ran while active";
  EXPECT_EQ(s.m.activity(), Activity::standby);
  ASSERT_EQ(s.m.transitions().size(), 2u);
  EXPECT_EQ(s.m.transitions().back().reason, "stalled");
  EXPECT_EQ(s.m.transitions().back().from, Activity::active);
  ASSERT_EQ(s.effects.size(), 1u);
  EXPECT_EQ(s.effects[0].kind, EffectKind::go_standby);
  // The backup, active now, is heard: automatic recovery asks for activity back.
  Decision d = s.apply(s.m.on_peer_heard(s.ex.now(), Activity::active));
  EXPECT_EQ(kinds(d), std::vector{EffectKind::send_handover_request});
  EXPECT_EQ(s.m.activity(), Activity::standby);
}

// The same stall where the backup did not take over (its broker path held it off, or the stall
// was shorter than its timeout): the backup reports standby, and the master is active again at
// once.
TEST(RedundancyMachine, AMasterResumedFromAStallBesideAStandbyBackupIsActiveAgainAtOnce) {
  Solo s(RedundancyMode::master, settings());
  s.start_beside_a_standby_backup();
  s.ex.schedule_after(milliseconds(0), [] {});  // a poll due
  s.ex.pause(milliseconds(2600));               // late by more than 3000 - 500 ms
  s.ex.advance(milliseconds(0));
  EXPECT_EQ(s.m.activity(), Activity::standby);
  s.apply(s.m.on_peer_heard(s.ex.now(), Activity::standby));
  EXPECT_EQ(s.m.activity(), Activity::active);
  EXPECT_EQ(s.m.transitions().back().reason, "backup_standby");
}

// Late by less than the threshold (a busy CPU) is no stall; a standby that stalls only restarts
// its silence clock.
TEST(RedundancyMachine, AShortDelayIsNoStallAndAStandbyStallChangesNoActivity) {
  Solo s(RedundancyMode::master, settings());
  s.start_beside_a_standby_backup();
  EXPECT_TRUE(s.m.on_stalled(s.ex.now(), milliseconds(2500)).empty());
  EXPECT_EQ(s.m.activity(), Activity::active);

  Solo b(RedundancyMode::backup, settings());
  b.start();
  b.apply(b.m.on_authenticated(b.ex.now()));
  b.apply(b.m.on_peer_heard(b.ex.now(), Activity::active));
  EXPECT_TRUE(b.m.on_stalled(b.ex.now(), milliseconds(9000)).empty());
  EXPECT_EQ(b.m.activity(), Activity::standby);
}

// An active backup that stalls goes standby too, then listens for a whole failover timeout: a
// live master is left to poll, a dead one is taken over again.
TEST(RedundancyMachine, AnActiveBackupResumedFromAStallListensForTheMasterFirst) {
  Solo s(RedundancyMode::backup, settings());
  s.start();
  s.apply(s.m.on_link_down(s.ex.now()));
  s.ex.advance(milliseconds(3000));
  ASSERT_EQ(s.m.activity(), Activity::active);
  s.ex.schedule_after(milliseconds(100), [] {});  // the backup's own polls
  s.ex.pause(milliseconds(5000));
  s.ex.advance(milliseconds(0));
  EXPECT_EQ(s.m.activity(), Activity::standby);
  EXPECT_EQ(s.m.transitions().back().reason, "stalled");
  const auto resumed = s.ex.now();
  s.ex.advance(milliseconds(2999));
  EXPECT_EQ(s.m.activity(), Activity::standby);
  s.ex.advance(milliseconds(1));
  EXPECT_EQ(s.m.activity(), Activity::active);
  EXPECT_EQ(s.m.transitions().back().reason, "master_lost");
  EXPECT_EQ(s.m.transitions().back().time, resumed + milliseconds(3000));
}

TEST(RedundancyMachine, BackupTakesOverWhenMasterNeverAppears) {
  Solo s(RedundancyMode::backup, settings());
  s.start();
  s.apply(s.m.on_link_down(s.ex.now() + milliseconds(100)));  // connection refused
  s.ex.advance(milliseconds(3000));
  EXPECT_EQ(s.m.activity(), Activity::active);
}

TEST(RedundancyMachine, SilenceOnALiveLinkAlsoCountsAsMasterLost) {
  // Heartbeat answers stop although TCP stays up (a hung master).
  Solo s(RedundancyMode::backup, settings());
  s.start();
  s.apply(s.m.on_authenticated(s.ex.now()));
  s.apply(s.m.on_peer_heard(s.ex.now(), Activity::active));
  s.ex.advance(milliseconds(3000));
  EXPECT_EQ(s.m.activity(), Activity::active);
}

TEST(RedundancyMachine, AuthenticationFailureNeverCausesTakeover) {
  Solo s(RedundancyMode::backup, settings());
  s.start();
  // A wrong key: every attempt fails authentication, with backoff longer than the timeout.
  for (int i = 0; i < 30; ++i) {
    s.apply(s.m.on_connected(s.ex.now()));
    s.apply(s.m.on_auth_failed(s.ex.now()));
    s.ex.advance(milliseconds(7000));
    ASSERT_EQ(s.m.activity(), Activity::standby) << "attempt " << i;
  }
  EXPECT_FALSE(s.m.peer_authenticated());
  EXPECT_TRUE(s.m.transitions().empty());
  // Only when the master really goes quiet (refused connection) does silence count, measured
  // from the last authentication failure, which is long past here.
  s.apply(s.m.on_link_down(s.ex.now()));
  s.ex.advance(milliseconds(0));
  EXPECT_EQ(s.m.activity(), Activity::active);
  EXPECT_EQ(s.m.transitions().back().reason, "master_lost");
}

TEST(RedundancyMachine, ForceFailoverRefusedWithoutAnAuthenticatedPeer) {
  Solo s(RedundancyMode::master, settings());
  s.start();
  s.ex.advance(milliseconds(5000));
  ASSERT_EQ(s.m.activity(), Activity::active);
  auto r = s.m.force_failover(s.ex.now());
  EXPECT_FALSE(r.accepted);
  EXPECT_EQ(r.refusal, "peer not connected");
  EXPECT_TRUE(r.decision.empty());
  s.apply(s.m.on_connected(s.ex.now()));
  EXPECT_EQ(s.m.force_failover(s.ex.now()).refusal, "peer not authenticated");
  s.apply(s.m.on_auth_failed(s.ex.now()));
  EXPECT_EQ(s.m.force_failover(s.ex.now()).refusal, "peer not connected");
  EXPECT_EQ(s.m.recover(s.ex.now()).refusal, "peer not connected");
  EXPECT_EQ(s.m.activity(), Activity::active);
}

TEST(RedundancyMachine, ForceFailoverOnActiveNodeReleasesBeforeAck) {
  Solo s(RedundancyMode::master, settings());
  s.start();
  s.apply(s.m.on_authenticated(s.ex.now()));
  s.apply(s.m.on_peer_heard(s.ex.now(), Activity::standby));
  ASSERT_EQ(s.m.activity(), Activity::active);
  auto r = s.m.force_failover(s.ex.now());
  ASSERT_TRUE(r.accepted);
  s.apply(r.decision);
  EXPECT_EQ(kinds(r.decision), (std::vector{EffectKind::send_full_state, EffectKind::go_standby}));
  EXPECT_EQ(s.m.activity(), Activity::standby);
  EXPECT_EQ(s.m.advertised_activity(), Activity::active);  // ports not closed yet
  EXPECT_EQ(s.m.force_failover(s.ex.now()).refusal, "handover in progress");
  Decision d = s.apply(s.m.on_released(s.ex.now()));
  EXPECT_EQ(kinds(d), std::vector{EffectKind::send_handover_ack});
  EXPECT_EQ(s.m.advertised_activity(), Activity::standby);
  s.apply(s.m.on_handover_done(s.ex.now()));
  EXPECT_FALSE(s.m.handover_in_progress());
  // Handover finished: no timeout fallback, and automatic recovery does not undo a forced
  // failover while the backup keeps answering as active.
  for (int i = 0; i < 20; ++i) {
    s.ex.advance(milliseconds(500));
    s.apply(s.m.on_peer_heard(s.ex.now(), Activity::active));
  }
  EXPECT_EQ(s.m.activity(), Activity::standby);
}

TEST(RedundancyMachine, HandoverNotFinishedLeavesTheMasterActive) {
  Solo s(RedundancyMode::master, settings());
  s.start();
  s.apply(s.m.on_authenticated(s.ex.now()));
  s.apply(s.m.on_peer_heard(s.ex.now(), Activity::standby));
  auto r = s.m.force_failover(s.ex.now());
  s.apply(r.decision);
  s.apply(s.m.on_released(s.ex.now()));
  s.ex.advance(milliseconds(2999));
  EXPECT_EQ(s.m.activity(), Activity::standby);
  s.ex.advance(milliseconds(1));
  EXPECT_EQ(s.m.activity(), Activity::active);
  EXPECT_EQ(s.m.transitions().back().reason, "handover_timeout");
  EXPECT_FALSE(s.m.handover_in_progress());
}

TEST(RedundancyMachine, BackupThatGaveStaysStandbyOnHandoverTimeout) {
  Solo s(RedundancyMode::backup, settings());
  s.start();
  s.ex.advance(milliseconds(3000));  // master lost
  ASSERT_EQ(s.m.activity(), Activity::active);
  s.apply(s.m.on_authenticated(s.ex.now()));
  s.apply(s.m.on_peer_heard(s.ex.now(), Activity::standby));
  Decision d = s.apply(s.m.on_handover_request(s.ex.now(), "master_back"));
  EXPECT_EQ(kinds(d), (std::vector{EffectKind::send_full_state, EffectKind::go_standby}));
  s.apply(s.m.on_released(s.ex.now()));
  // Heartbeats continue, done never arrives.
  for (int i = 0; i < 12; ++i) {
    s.ex.advance(milliseconds(500));
    s.apply(s.m.on_peer_heard(s.ex.now(), Activity::standby));
  }
  EXPECT_FALSE(s.m.handover_in_progress());
  EXPECT_EQ(s.m.activity(), Activity::standby);
}

TEST(RedundancyMachine, MasterWhoseRequestIsNeverAckedStaysStandby) {
  Solo s(RedundancyMode::master, settings(Recovery::manual));
  s.start();
  s.apply(s.m.on_authenticated(s.ex.now()));
  s.apply(s.m.on_peer_heard(s.ex.now(), Activity::active));
  auto r = s.m.recover(s.ex.now());
  ASSERT_TRUE(r.accepted);
  s.apply(r.decision);
  EXPECT_EQ(kinds(r.decision), std::vector{EffectKind::send_handover_request});
  for (int i = 0; i < 8; ++i) {
    s.ex.advance(milliseconds(500));
    s.apply(s.m.on_peer_heard(s.ex.now(), Activity::active));
  }
  EXPECT_FALSE(s.m.handover_in_progress());
  EXPECT_EQ(s.m.activity(), Activity::standby);
}

TEST(RedundancyMachine, ColdStandbyClosesEverythingWarmKeepsTcp) {
  for (Standby mode : {Standby::cold, Standby::warm}) {
    Solo s(RedundancyMode::backup, settings(Recovery::automatic, mode));
    s.start();
    EXPECT_EQ(s.m.keep_tcp_open(), mode == Standby::warm);
    s.ex.advance(milliseconds(3000));
    ASSERT_EQ(s.m.activity(), Activity::active);
    EXPECT_TRUE(s.m.keep_tcp_open());
    s.apply(s.m.on_authenticated(s.ex.now()));
    s.apply(s.m.on_peer_heard(s.ex.now(), Activity::standby));
    Decision d = s.apply(s.m.on_handover_request(s.ex.now(), "master_back"));
    ASSERT_EQ(d.effects.size(), 2u);
    EXPECT_EQ(d.effects[1].kind, EffectKind::go_standby);
    EXPECT_EQ(d.effects[1].keep_tcp_open, mode == Standby::warm);
    EXPECT_EQ(s.m.keep_tcp_open(), mode == Standby::warm);
  }
}

TEST(RedundancyMachine, BackupYieldsWhenBothActive) {
  Solo s(RedundancyMode::backup, settings());
  s.start();
  s.ex.advance(milliseconds(3000));
  ASSERT_EQ(s.m.activity(), Activity::active);
  s.apply(s.m.on_authenticated(s.ex.now()));
  Decision d = s.apply(s.m.on_peer_heard(s.ex.now(), Activity::active));
  EXPECT_EQ(kinds(d), std::vector{EffectKind::go_standby});
  EXPECT_EQ(d.transitions.at(0).reason, "master_active");
  EXPECT_EQ(s.m.activity(), Activity::standby);
  EXPECT_TRUE(s.apply(s.m.on_released(s.ex.now())).empty());
}

TEST(RedundancyMachine, StandbyMasterTakesOverWhenBackupGoesSilent) {
  Solo s(RedundancyMode::master, settings(Recovery::manual));
  s.start();
  s.apply(s.m.on_authenticated(s.ex.now()));
  s.apply(s.m.on_peer_heard(s.ex.now(), Activity::active));
  s.ex.advance(milliseconds(1000));
  s.apply(s.m.on_peer_heard(s.ex.now(), Activity::active));
  s.apply(s.m.on_link_down(s.ex.now()));
  s.ex.advance(milliseconds(2999));
  EXPECT_EQ(s.m.activity(), Activity::standby);
  s.ex.advance(milliseconds(1));
  EXPECT_EQ(s.m.activity(), Activity::active);
  EXPECT_EQ(s.m.transitions().back().reason, "backup_lost");
}

TEST(RedundancyMachine, TransitionHistoryIsBoundedAndNumbered) {
  Solo s(RedundancyMode::backup, settings());
  s.start();
  s.apply(s.m.on_authenticated(s.ex.now()));
  for (std::size_t i = 0; i < Machine::kHistory + 10; ++i) {
    s.ex.advance(milliseconds(3000));                          // silence: active
    s.apply(s.m.on_peer_heard(s.ex.now(), Activity::active));  // master active: yield
  }
  ASSERT_EQ(s.m.transitions().size(), Machine::kHistory);
  EXPECT_EQ(s.m.transitions().back().seq, 2 * (Machine::kHistory + 10));
  EXPECT_EQ(s.m.transitions().front().seq, s.m.transitions().back().seq - Machine::kHistory + 1);
}

TEST(RedundancyMachine, SimultaneousRequestsMasterWins) {
  Solo master(RedundancyMode::master, settings());
  Solo backup(RedundancyMode::backup, settings());
  for (Solo* s : {&master, &backup}) {
    s->start();
    s->apply(s->m.on_authenticated(s->ex.now()));
  }
  // Both standby, both asked by their operators at once.
  master.apply(master.m.on_peer_heard(master.ex.now(), Activity::active));  // master_back request
  ASSERT_TRUE(master.m.handover_in_progress());
  auto r = backup.m.force_failover(backup.ex.now());
  ASSERT_TRUE(r.accepted);
  backup.apply(r.decision);
  // Crossing requests: the master keeps its own, the backup withdraws and acknowledges.
  EXPECT_TRUE(
      master.apply(master.m.on_handover_request(master.ex.now(), "force_failover")).empty());
  Decision d = backup.apply(backup.m.on_handover_request(backup.ex.now(), "master_back"));
  EXPECT_EQ(kinds(d), std::vector{EffectKind::send_handover_ack});
  d = master.apply(master.m.on_handover_ack(master.ex.now(), "master_back"));
  EXPECT_EQ(master.m.activity(), Activity::active);
  // The backup's own request never gets an ack; its handover ends standby.
  backup.apply(backup.m.on_handover_done(backup.ex.now()));
  EXPECT_EQ(backup.m.activity(), Activity::standby);
  EXPECT_FALSE(backup.m.handover_in_progress());
}

TEST(RedundancyMachine, AckWhileGivingGoesToTheMasterOnly) {
  // Both active after a partition and both told to force failover: both give, acks cross.
  Solo master(RedundancyMode::master, settings());
  Solo backup(RedundancyMode::backup, settings());
  master.start();
  backup.start();
  master.ex.advance(milliseconds(5000));
  backup.ex.advance(milliseconds(5000));
  ASSERT_EQ(master.m.activity(), Activity::active);
  ASSERT_EQ(backup.m.activity(), Activity::active);
  for (Solo* s : {&master, &backup}) {
    s->apply(s->m.on_authenticated(s->ex.now()));
    auto r = s->m.force_failover(s->ex.now());
    ASSERT_TRUE(r.accepted);
    s->apply(r.decision);
    s->apply(s->m.on_released(s->ex.now()));
  }
  EXPECT_TRUE(backup.apply(backup.m.on_handover_ack(backup.ex.now(), "force_failover")).empty());
  Decision d = master.apply(master.m.on_handover_ack(master.ex.now(), "force_failover"));
  EXPECT_EQ(kinds(d), (std::vector{EffectKind::become_active, EffectKind::send_handover_done}));
  EXPECT_EQ(backup.m.activity(), Activity::standby);
}

TEST(RedundancyMachine, StandbyNodeAcknowledgesARequestAtOnce) {
  Solo s(RedundancyMode::backup, settings());
  s.start();
  s.apply(s.m.on_authenticated(s.ex.now()));
  Decision d = s.apply(s.m.on_handover_request(s.ex.now(), "force_failover"));
  EXPECT_EQ(kinds(d), std::vector{EffectKind::send_handover_ack});
  EXPECT_EQ(s.m.activity(), Activity::standby);
}

// Two machines wired as the nodes will be: messages delivered in order through the executor,
// heartbeats every 500 ms while the link is up, ports closing in 200 ms. Every become_active
// checks that the other node's ports are closed (the handover order of transition 5).
struct PairHarness {
  struct Node {
    std::unique_ptr<Machine> m;
    runtime::TimerId timer;
    bool holds_ports = false;
    std::vector<Effect> effects;
  };

  runtime::ManualExecutor ex;
  Node master;
  Node backup;
  bool link_up = false;
  bool drop_handover = false;
  bool allow_overlap = false;
  int overlaps = 0;
  runtime::TimerId heartbeat;
  runtime::Duration beat_every = milliseconds(500);

  explicit PairHarness(RedundancySettings s) {
    master.m = std::make_unique<Machine>(RedundancyMode::master, s);
    backup.m = std::make_unique<Machine>(RedundancyMode::backup, s);
  }
  Node& other(Node& n) { return &n == &master ? backup : master; }

  void apply(Node& n, Decision d) {
    for (const Effect& e : d.effects) {
      n.effects.push_back(e);
      switch (e.kind) {
        case EffectKind::become_active:
          if (other(n).holds_ports) {
            ++overlaps;
            if (!allow_overlap) ADD_FAILURE() << "both nodes hold the ports";
          }
          n.holds_ports = true;
          break;
        case EffectKind::go_standby:
          ex.schedule_after(milliseconds(200), [this, &n] {
            n.holds_ports = false;
            apply(n, n.m->on_released(ex.now()));
          });
          break;
        case EffectKind::send_full_state:
          break;
        case EffectKind::send_handover_request:
          send(n, [this, why = e.reason](Node& to) {
            apply(to, to.m->on_handover_request(ex.now(), why));
          });
          break;
        case EffectKind::send_handover_ack:
          send(n, [this, why = e.reason](Node& to) {
            apply(to, to.m->on_handover_ack(ex.now(), why));
          });
          break;
        case EffectKind::send_handover_done:
          send(n, [this](Node& to) { apply(to, to.m->on_handover_done(ex.now())); });
          break;
      }
    }
    rearm(n);
  }
  void rearm(Node& n) {
    if (n.timer) ex.cancel(n.timer);
    n.timer = {};
    if (auto due = n.m->next_deadline())
      n.timer = ex.schedule_at(*due, [this, &n] {
        n.timer = {};
        apply(n, n.m->on_timer(ex.now()));
      });
  }
  void send(Node& from, std::function<void(Node&)> deliver) {
    if (!link_up || drop_handover) return;
    Node& to = other(from);
    ex.post([this, &to, deliver] {
      if (link_up) deliver(to);
    });
  }
  void start_master() { apply(master, master.m->start(ex.now())); }
  void start_backup() { apply(backup, backup.m->start(ex.now())); }
  void connect() {
    link_up = true;
    apply(master, master.m->on_authenticated(ex.now()));
    apply(backup, backup.m->on_authenticated(ex.now()));
    beat();
  }
  void disconnect() {
    link_up = false;
    if (heartbeat) ex.cancel(heartbeat);
    apply(master, master.m->on_link_down(ex.now()));
    apply(backup, backup.m->on_link_down(ex.now()));
  }
  // Backup heartbeat, master answer: each side learns the other's advertised activity.
  void beat() {
    if (!link_up) return;
    apply(master, master.m->on_peer_heard(ex.now(), backup.m->advertised_activity()));
    apply(backup, backup.m->on_peer_heard(ex.now(), master.m->advertised_activity()));
    heartbeat = ex.schedule_after(beat_every, [this] { beat(); });
  }
  void restart_master(RedundancySettings s) {
    if (master.timer) ex.cancel(master.timer);
    master = Node{};
    master.m = std::make_unique<Machine>(RedundancyMode::master, s);
  }
  void run(runtime::Duration d) { ex.advance(d); }
};

TEST(RedundancyPair, MasterStartsActiveWithBackupStandby) {
  PairHarness p(settings());
  p.start_backup();
  p.start_master();
  p.connect();
  p.run(milliseconds(100));
  EXPECT_EQ(p.master.m->activity(), Activity::active);
  EXPECT_EQ(p.backup.m->activity(), Activity::standby);
  EXPECT_TRUE(p.master.holds_ports);
  p.run(runtime::seconds(30));
  EXPECT_EQ(p.backup.m->activity(), Activity::standby);
  EXPECT_TRUE(p.backup.m->transitions().empty());
}

TEST(RedundancyPair, ForceFailoverBothWays) {
  PairHarness p(settings());
  p.start_backup();
  p.start_master();
  p.connect();
  p.run(milliseconds(100));
  // On the active master: activity moves to the backup.
  auto r = p.master.m->force_failover(p.ex.now());
  ASSERT_TRUE(r.accepted) << r.refusal;
  p.apply(p.master, r.decision);
  p.run(milliseconds(100));
  EXPECT_TRUE(p.master.holds_ports);  // still closing: the backup must wait
  EXPECT_EQ(p.backup.m->activity(), Activity::standby);
  p.run(milliseconds(200));
  EXPECT_EQ(p.master.m->activity(), Activity::standby);
  EXPECT_EQ(p.backup.m->activity(), Activity::active);
  EXPECT_EQ(p.backup.m->transitions().back().reason, "force_failover");
  p.run(runtime::seconds(10));  // stable: no automatic recovery fights a forced failover
  EXPECT_EQ(p.backup.m->activity(), Activity::active);

  // On the standby master: it asks the active backup to give activity back.
  r = p.master.m->force_failover(p.ex.now());
  ASSERT_TRUE(r.accepted) << r.refusal;
  p.apply(p.master, r.decision);
  p.run(milliseconds(500));
  EXPECT_EQ(p.master.m->activity(), Activity::active);
  EXPECT_EQ(p.backup.m->activity(), Activity::standby);
  EXPECT_EQ(p.overlaps, 0);

  // On the standby backup: it asks the master.
  r = p.backup.m->force_failover(p.ex.now());
  ASSERT_TRUE(r.accepted) << r.refusal;
  p.apply(p.backup, r.decision);
  p.run(milliseconds(500));
  EXPECT_EQ(p.backup.m->activity(), Activity::active);
  EXPECT_EQ(p.master.m->activity(), Activity::standby);
}

TEST(RedundancyPair, MasterLostThenBackAutomatic) {
  PairHarness p(settings(Recovery::automatic));
  p.start_backup();
  p.start_master();
  p.connect();
  p.run(milliseconds(100));
  ASSERT_EQ(p.master.m->activity(), Activity::active);

  // The master dies: its ports close with the process, the link goes quiet.
  p.master.holds_ports = false;
  p.disconnect();  // last heartbeat was at connect(), 100 ms ago
  p.run(milliseconds(2899));
  EXPECT_EQ(p.backup.m->activity(), Activity::standby);
  p.run(milliseconds(1));
  EXPECT_EQ(p.backup.m->activity(), Activity::active);
  EXPECT_EQ(p.backup.m->transitions().back().reason, "master_lost");

  // The master restarts: the backup hands over (state first, then closes), then the master
  // becomes active.
  p.restart_master(settings(Recovery::automatic));
  p.start_master();
  p.run(milliseconds(1000));
  p.connect();
  p.run(milliseconds(1000));
  EXPECT_EQ(p.master.m->activity(), Activity::active);
  EXPECT_EQ(p.backup.m->activity(), Activity::standby);
  EXPECT_EQ(p.master.m->transitions().back().reason, "master_back");
  const auto& be = p.backup.effects;
  ASSERT_GE(be.size(), 3u);
  EXPECT_EQ(be[be.size() - 2].kind, EffectKind::go_standby);
  EXPECT_EQ(be[be.size() - 3].kind, EffectKind::send_full_state);
  EXPECT_EQ(be.back().kind, EffectKind::send_handover_ack);
  EXPECT_EQ(p.overlaps, 0);
}

// The pair through master crashes (kill -9) and restarts: the backup reconnects as BackupLink
// does, with its real backoff from the settings (refused while the master is down), each
// handshake takes 30 ms, heartbeats run every heartbeat_interval_ms, ports close in 200 ms.
struct RestartHarness : PairHarness {
  RedundancySettings s;
  ReconnectBackoff backoff;
  bool master_up = false;
  runtime::TimerId retry;
  runtime::TimerId handshake;

  explicit RestartHarness(RedundancySettings st)
      : PairHarness(st), s(st), backoff(backup_reconnect_backoff(st, {}, {}, 0.3, 7)) {
    beat_every = milliseconds(st.heartbeat_interval_ms);
  }
  void start() {
    start_backup();
    boot_master();
    attempt();
  }
  void attempt() {
    retry = {};
    if (!master_up) {  // connection refused
      apply(backup, backup.m->on_link_down(ex.now()));
      retry_later();
      return;
    }
    apply(master, master.m->on_connected(ex.now()));
    apply(backup, backup.m->on_connected(ex.now()));
    handshake = ex.schedule_after(milliseconds(30), [this] {
      handshake = {};
      backoff.reset();
      connect();
    });
  }
  void retry_later() {
    retry = ex.schedule_after(backoff.next(RetryCause::master_unreachable), [this] { attempt(); });
  }
  void crash_master() {
    master_up = false;
    master.holds_ports = false;  // the process is gone, and its ports with it
    link_up = false;
    for (auto* t : {&heartbeat, &handshake, &master.timer})
      if (*t) ex.cancel(*t);
    heartbeat = handshake = master.timer = {};
    apply(backup, backup.m->on_link_down(ex.now()));
    if (!retry) retry_later();
  }
  void boot_master() {
    restart_master(s);
    master_up = true;
    start_master();
  }
};

TEST(RedundancyPair, MasterRestartsAtVariedMomentsNeverMakeTwoActiveNodes) {
  // The restart scenario of transition 5: heartbeat 200 ms, failover timeout 1500 ms, startup
  // allowance 1000 ms, automatic recovery. The master is down from 0 to 3.9 s (before and after
  // the backup takes over) and killed at varied moments between heartbeats.
  auto st = settings(Recovery::automatic);
  st.heartbeat_interval_ms = 200;
  st.failover_timeout_ms = 1500;
  st.startup_allowance_ms = 1000;
  RestartHarness p(st);
  p.start();
  p.run(milliseconds(2000));
  ASSERT_EQ(p.master.m->activity(), Activity::active);
  int took_over = 0;
  for (int i = 0; i < 40; ++i) {
    p.run(milliseconds(i * 37 % 200));
    p.crash_master();
    p.run(milliseconds(100 * i));
    took_over += p.backup.m->activity() == Activity::active;
    p.boot_master();
    p.run(milliseconds(4000));
    ASSERT_EQ(p.master.m->activity(), Activity::active) << "restart " << i;
    ASSERT_EQ(p.backup.m->activity(), Activity::standby) << "restart " << i;
  }
  EXPECT_EQ(p.overlaps, 0);
  EXPECT_GE(took_over, 20);
}

TEST(RedundancyPair, MasterBackManualWaitsForRecoverOnEitherNode) {
  for (bool on_master : {true, false}) {
    PairHarness p(settings(Recovery::manual));
    p.start_backup();
    p.run(milliseconds(3000));
    ASSERT_EQ(p.backup.m->activity(), Activity::active);
    p.start_master();
    p.connect();
    p.run(runtime::seconds(20));  // far past the startup allowance
    EXPECT_EQ(p.master.m->activity(), Activity::standby);
    EXPECT_EQ(p.backup.m->activity(), Activity::active);

    PairHarness::Node& n = on_master ? p.master : p.backup;
    auto r = n.m->recover(p.ex.now());
    ASSERT_TRUE(r.accepted) << r.refusal;
    p.apply(n, r.decision);
    p.run(milliseconds(500));
    EXPECT_EQ(p.master.m->activity(), Activity::active) << on_master;
    EXPECT_EQ(p.backup.m->activity(), Activity::standby);
    EXPECT_EQ(p.master.m->transitions().back().reason, "recover");
    EXPECT_EQ(p.overlaps, 0);
    p.run(runtime::seconds(10));
    EXPECT_EQ(p.master.m->activity(), Activity::active);
  }
}

TEST(RedundancyPair, LostHandoverMessagesLeaveTheMasterActive) {
  PairHarness p(settings());
  p.start_backup();
  p.start_master();
  p.connect();
  p.run(milliseconds(100));
  p.drop_handover = true;  // heartbeats flow, handover messages are lost
  auto r = p.master.m->force_failover(p.ex.now());
  p.apply(p.master, r.decision);
  p.run(milliseconds(2900));
  EXPECT_EQ(p.master.m->activity(), Activity::standby);
  p.run(milliseconds(100));
  EXPECT_EQ(p.master.m->activity(), Activity::active);
  EXPECT_EQ(p.backup.m->activity(), Activity::standby);
  EXPECT_EQ(p.master.m->transitions().back().reason, "handover_timeout");
}

TEST(RedundancyPair, PartitionHealsWithTheMasterActive) {
  PairHarness p(settings());
  p.start_backup();
  p.start_master();
  p.connect();
  p.run(milliseconds(100));
  p.allow_overlap = true;  // a partition lets both run; healing must resolve it
  p.disconnect();
  p.run(milliseconds(4000));
  EXPECT_EQ(p.master.m->activity(), Activity::active);
  EXPECT_EQ(p.backup.m->activity(), Activity::active);
  p.connect();
  p.run(milliseconds(500));
  EXPECT_EQ(p.master.m->activity(), Activity::active);
  EXPECT_EQ(p.backup.m->activity(), Activity::standby);
  EXPECT_EQ(p.backup.m->transitions().back().reason, "master_active");
}

// Reload (config.md "Reload"): new settings take effect on the running machine.
TEST(RedundancyMachine, ReloadedSettingsApplyToTheRunningMachine) {
  // A shorter failover timeout: the backup's silence deadline follows it at once.
  Solo b(RedundancyMode::backup, settings());
  const auto t0 = b.ex.now();
  b.start();
  auto faster = settings();
  faster.failover_timeout_ms = 1000;
  b.m.update_settings(faster);
  b.apply({});  // the node re-arms from next_deadline()
  EXPECT_EQ(*b.m.next_deadline(), t0 + milliseconds(1000));
  b.ex.advance(milliseconds(1000));
  EXPECT_EQ(b.m.activity(), Activity::active);
  EXPECT_EQ(b.m.transitions().back().reason, reason::master_lost);

  // A master still in its startup allowance measures the new allowance from its start.
  Solo m(RedundancyMode::master, settings());
  const auto m0 = m.ex.now();
  m.start();
  m.ex.advance(milliseconds(1500));
  auto shorter = settings();
  shorter.startup_allowance_ms = 2000;
  m.m.update_settings(shorter);
  m.apply({});
  EXPECT_EQ(*m.m.next_deadline(), m0 + milliseconds(2000));
  m.ex.advance(milliseconds(500));
  EXPECT_EQ(m.m.activity(), Activity::active);
  EXPECT_EQ(m.m.transitions().back().reason, reason::startup_allowance_expired);

  // Warm or cold: what the next go_standby keeps, and keep_tcp_open() for the standby now.
  Solo w(RedundancyMode::backup, settings());
  w.start();
  EXPECT_FALSE(w.m.keep_tcp_open());
  w.m.update_settings(settings(Recovery::automatic, Standby::warm));
  EXPECT_TRUE(w.m.keep_tcp_open());
  EXPECT_EQ(w.m.settings().standby, Standby::warm);

  // Manual recovery on a master: a returning master no longer asks for activity back.
  Solo r(RedundancyMode::master, settings());
  r.start();
  r.m.update_settings(settings(Recovery::manual));
  r.apply(r.m.on_authenticated(r.ex.now()));
  r.apply(r.m.on_peer_heard(r.ex.now(), Activity::active));
  EXPECT_EQ(r.m.activity(), Activity::standby);
  for (const auto& e : r.effects)
    EXPECT_NE(e.kind, EffectKind::send_handover_request);
}

// redundancy.md "Partitions": the links are cut but the master's Sparkplug session is alive on
// the broker. The backup records why it waits, once, and takes over only a whole timeout after
// the broker reports the session ended.
TEST(RedundancyMachine, ABackupDoesNotTakeOverWhileTheMasterIsAliveViaTheBroker) {
  Solo s(RedundancyMode::backup, settings());
  s.start();
  s.apply(s.m.on_authenticated(s.ex.now()));
  s.apply(s.m.on_peer_heard(s.ex.now(), Activity::active));
  s.apply(s.m.on_broker_path(s.ex.now(), true));
  s.apply(s.m.on_link_down(s.ex.now()));
  s.ex.advance(milliseconds(3000));
  EXPECT_EQ(s.m.activity(), Activity::standby);
  ASSERT_EQ(s.m.transitions().size(), 1u);
  const Transition& t = s.m.transitions().back();
  EXPECT_EQ(t.from, Activity::standby);
  EXPECT_EQ(t.to, Activity::standby);
  EXPECT_EQ(t.reason, "master alive via broker");
  EXPECT_FALSE(s.m.next_deadline());
  s.ex.advance(milliseconds(60000));  // no second event, no takeover
  EXPECT_EQ(s.m.transitions().size(), 1u);
  EXPECT_TRUE(s.effects.empty());

  s.apply(s.m.on_broker_path(s.ex.now(), false));  // NDEATH: the master's session ended
  const auto ended = s.ex.now();
  s.ex.advance(milliseconds(2999));
  EXPECT_EQ(s.m.activity(), Activity::standby);
  s.ex.advance(milliseconds(1));
  EXPECT_EQ(s.m.activity(), Activity::active);
  EXPECT_EQ(s.m.transitions().back().reason, "master_lost");
  EXPECT_EQ(s.m.transitions().back().time, ended + milliseconds(3000));
}

// The master heard again on a link after a withheld takeover: silence counts from then, and a
// broker that stops vouching for it no longer matters while the link hears it.
TEST(RedundancyMachine, AWithheldTakeoverIsForgottenWhenTheLinkHearsTheMasterAgain) {
  Solo s(RedundancyMode::backup, settings());
  s.start();
  s.apply(s.m.on_broker_path(s.ex.now(), true));
  s.ex.advance(milliseconds(3000));
  ASSERT_EQ(s.m.transitions().size(), 1u);
  s.apply(s.m.on_authenticated(s.ex.now()));
  s.apply(s.m.on_peer_heard(s.ex.now(), Activity::active));
  ASSERT_TRUE(s.m.next_deadline());
  s.ex.advance(milliseconds(2000));
  s.apply(s.m.on_peer_heard(s.ex.now(), Activity::active));
  s.apply(s.m.on_broker_path(s.ex.now(), false));  // the broker went away, the link did not
  s.ex.advance(milliseconds(2999));
  EXPECT_EQ(s.m.activity(), Activity::standby);
  EXPECT_EQ(s.m.transitions().size(), 1u);
}

// Without a broker path (never alive, or alive and gone), the old rule: silence on the links
// for failover_timeout_ms is a lost master.
TEST(RedundancyMachine, ABrokerPathThatIsDownChangesNothing) {
  Solo s(RedundancyMode::backup, settings());
  s.start();
  s.apply(s.m.on_broker_path(s.ex.now(), false));
  s.ex.advance(milliseconds(3000));
  EXPECT_EQ(s.m.activity(), Activity::active);
  EXPECT_EQ(s.m.transitions().back().reason, "master_lost");
}

// A master that starts while its links are cut and the backup publishes for the pair does not
// go active when its startup allowance ends, and does once the backup's session ends.
TEST(RedundancyMachine, AMasterStartingBesideAnActiveBackupSeenOnlyViaTheBrokerWaits) {
  Solo s(RedundancyMode::master, settings());
  s.start();
  s.apply(s.m.on_broker_path(s.ex.now(), true));
  s.ex.advance(milliseconds(5000));
  EXPECT_EQ(s.m.activity(), Activity::standby);
  ASSERT_EQ(s.m.transitions().size(), 1u);
  EXPECT_EQ(s.m.transitions().back().reason, "backup alive via broker");
  s.ex.advance(milliseconds(30000));
  EXPECT_EQ(s.m.activity(), Activity::standby);
  // The link comes back: the backup is active, the master asks for its activity back.
  s.apply(s.m.on_authenticated(s.ex.now()));
  s.apply(s.m.on_peer_heard(s.ex.now(), Activity::active));
  ASSERT_FALSE(s.effects.empty());
  EXPECT_EQ(s.effects.back().kind, EffectKind::send_handover_request);
}

TEST(RedundancyMachine, AMasterWhoseBackupSessionEndsTakesOverAfterATimeout) {
  Solo s(RedundancyMode::master, settings());
  s.start();
  s.apply(s.m.on_broker_path(s.ex.now(), true));
  s.ex.advance(milliseconds(6000));
  s.apply(s.m.on_broker_path(s.ex.now(), false));
  s.ex.advance(milliseconds(2999));
  EXPECT_EQ(s.m.activity(), Activity::standby);
  s.ex.advance(milliseconds(1));
  EXPECT_EQ(s.m.activity(), Activity::active);
  EXPECT_EQ(s.m.transitions().back().reason, "backup_lost");
}

}  // namespace
}  // namespace pollux::redundancy
