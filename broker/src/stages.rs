//! A deal's life in the broker, as a pure function of its record and the time.
//!
//! accepted → processing (pull and check) → sealing → complete, each stage lasting at least
//! `stage_ms`. Times are wall-clock Unix milliseconds stored in the record, so a broker that
//! restarts picks every deal up where its clock says it is (a deal whose time ran out while the
//! broker was down moves on at once, possibly by more than one stage).

use carport_mk20::{DealState, DealStatusResponse};
use serde::{Deserialize, Serialize};

/// The stage, with what only that stage carries.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "stage", rename_all = "lowercase")]
pub enum Phase {
    Accepted,
    /// The aggregate is being pulled and checked.
    Processing {
        pull: Pull,
    },
    Sealing,
    /// The simulated chain has a deal for it.
    Complete {
        deal_id: u64,
    },
    Failed {
        reason: String,
    },
}

impl Phase {
    /// The stage's name, as mk20 writes its state.
    pub fn name(&self) -> &'static str {
        match self {
            Phase::Accepted => "accepted",
            Phase::Processing { .. } => "processing",
            Phase::Sealing => "sealing",
            Phase::Complete { .. } => "complete",
            Phase::Failed { .. } => "failed",
        }
    }
}

/// How the pull of a deal in `processing` went.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "lowercase")]
pub enum Pull {
    /// Not finished (or never started, or cut short by a restart: then it starts again).
    Pending,
    /// The bytes are stored and their piece commitment is the deal's.
    Verified {
        at_ms: u64,
    },
    Failed {
        reason: String,
    },
}

/// The reason given for deals failed by `reject_next`.
pub const INJECTED_REJECTION: &str = "rejected by provider (injected)";

/// The part of a deal record the clock moves.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Progress {
    #[serde(flatten)]
    pub phase: Phase,
    /// When the phase began.
    pub since_ms: u64,
    /// Set by `reject_next`: fail instead of processing.
    pub reject: bool,
    /// Set by `lie_next`: say the pull was verified without fetching a byte (a provider that
    /// lies, for the archive's tests).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub lie: bool,
}

impl Progress {
    /// A deal just accepted.
    pub fn accepted(now_ms: u64, reject: bool, lie: bool) -> Progress {
        Progress { phase: Phase::Accepted, since_ms: now_ms, reject, lie }
    }

    /// Moves the deal on as far as `now_ms` allows; true when anything changed. `next_deal_id`
    /// gives the ID of a deal that completes.
    pub fn advance(
        &mut self,
        now_ms: u64,
        stage_ms: u64,
        next_deal_id: &mut impl FnMut() -> u64,
    ) -> bool {
        let mut changed = false;
        while let Some((phase, since_ms)) = self.next(now_ms, stage_ms, next_deal_id) {
            self.phase = phase;
            self.since_ms = since_ms;
            changed = true;
        }
        changed
    }

    /// The next phase and when it began, if it is due.
    fn next(
        &self,
        now_ms: u64,
        stage_ms: u64,
        next_deal_id: &mut impl FnMut() -> u64,
    ) -> Option<(Phase, u64)> {
        let due = self.since_ms.saturating_add(stage_ms);
        match &self.phase {
            Phase::Accepted if now_ms >= due && self.reject => {
                Some((Phase::Failed { reason: INJECTED_REJECTION.to_string() }, due))
            }
            Phase::Accepted if now_ms >= due => {
                Some((Phase::Processing { pull: Pull::Pending }, due))
            }
            Phase::Processing { pull: Pull::Failed { reason } } => {
                Some((Phase::Failed { reason: reason.clone() }, now_ms))
            }
            Phase::Processing { pull: Pull::Verified { at_ms } } if now_ms >= due.max(*at_ms) => {
                Some((Phase::Sealing, due.max(*at_ms)))
            }
            Phase::Sealing if now_ms >= due => {
                Some((Phase::Complete { deal_id: next_deal_id() }, due))
            }
            _ => None,
        }
    }

    /// Whether this deal needs a pull started (the caller knows which pulls are running).
    pub fn wants_pull(&self) -> bool {
        matches!(self.phase, Phase::Processing { pull: Pull::Pending })
    }

    /// What `GET /market/mk20/status/{id}` says about it.
    pub fn status(&self) -> DealStatusResponse {
        let (status, error_msg) = match &self.phase {
            Phase::Accepted => (DealState::Accepted, String::new()),
            Phase::Processing { .. } => (DealState::Processing, String::new()),
            Phase::Sealing => (DealState::Sealing, String::new()),
            Phase::Complete { .. } => (DealState::Complete, String::new()),
            Phase::Failed { reason } => (DealState::Failed, reason.clone()),
        };
        DealStatusResponse { status, error_msg }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const STAGE: u64 = 1000;

    fn ids() -> impl FnMut() -> u64 {
        let mut next = 7;
        move || {
            next += 1;
            next
        }
    }

    #[test]
    fn walks_through_every_stage() {
        let mut ids = ids();
        let mut p = Progress::accepted(10_000, false, false);
        assert!(!p.advance(10_999, STAGE, &mut ids));
        assert!(p.advance(11_000, STAGE, &mut ids));
        assert_eq!(
            (p.phase.clone(), p.since_ms),
            (Phase::Processing { pull: Pull::Pending }, 11_000)
        );
        assert!(p.wants_pull());
        // Processing lasts until the pull is verified, however long the clock says.
        assert!(!p.advance(50_000, STAGE, &mut ids));
        p.phase = Phase::Processing { pull: Pull::Verified { at_ms: 11_500 } };
        assert!(!p.advance(11_999, STAGE, &mut ids));
        assert!(p.advance(12_000, STAGE, &mut ids));
        assert_eq!((p.phase.clone(), p.since_ms), (Phase::Sealing, 12_000));
        assert!(p.advance(13_000, STAGE, &mut ids));
        assert_eq!(p.phase, Phase::Complete { deal_id: 8 });
        assert!(!p.advance(99_000, STAGE, &mut ids));
        assert_eq!(
            p.status(),
            DealStatusResponse { status: DealState::Complete, error_msg: String::new() }
        );
    }

    #[test]
    fn a_slow_pull_delays_sealing() {
        let mut ids = ids();
        let mut p = Progress {
            phase: Phase::Processing { pull: Pull::Verified { at_ms: 15_000 } },
            since_ms: 11_000,
            reject: false,
            lie: false,
        };
        assert!(!p.advance(14_999, STAGE, &mut ids));
        assert!(p.advance(15_000, STAGE, &mut ids));
        assert_eq!((p.phase.clone(), p.since_ms), (Phase::Sealing, 15_000));
    }

    #[test]
    fn catches_up_after_downtime() {
        let mut ids = ids();
        let mut p = Progress {
            phase: Phase::Processing { pull: Pull::Verified { at_ms: 11_100 } },
            since_ms: 11_000,
            reject: false,
            lie: false,
        };
        assert!(p.advance(100_000, STAGE, &mut ids));
        assert_eq!((p.phase.clone(), p.since_ms), (Phase::Complete { deal_id: 8 }, 13_000));
    }

    #[test]
    fn a_failed_pull_fails_the_deal() {
        let mut ids = ids();
        let reason = "piece commitment mismatch".to_string();
        let mut p = Progress {
            phase: Phase::Processing { pull: Pull::Failed { reason: reason.clone() } },
            since_ms: 11_000,
            reject: false,
            lie: false,
        };
        assert!(p.advance(11_001, STAGE, &mut ids));
        assert_eq!(p.phase, Phase::Failed { reason: reason.clone() });
        assert_eq!(p.status(), DealStatusResponse { status: DealState::Failed, error_msg: reason });
    }

    #[test]
    fn an_injected_rejection_fails_after_acceptance() {
        let mut ids = ids();
        let mut p = Progress::accepted(0, true, false);
        assert_eq!(p.status().status, DealState::Accepted);
        assert!(p.advance(STAGE, STAGE, &mut ids));
        assert_eq!(p.phase, Phase::Failed { reason: INJECTED_REJECTION.to_string() });
        assert!(!p.wants_pull());
    }

    #[test]
    fn persists_as_flat_json() {
        let p = Progress {
            phase: Phase::Processing { pull: Pull::Verified { at_ms: 5 } },
            since_ms: 3,
            reject: false,
            lie: false,
        };
        let json = serde_json::to_value(&p).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"stage": "processing", "pull": {"state": "verified", "at_ms": 5}, "since_ms": 3, "reject": false})
        );
        assert_eq!(serde_json::from_value::<Progress>(json).unwrap(), p);
    }
}
