//! A deal's progress, reduced to the stages carport acts on.
//!
//! Curio's status answer has one entry per storage product, each a [`DealState`] and an error
//! message; it carries no chain deal ID, sector or provider (a DDO deal has no market deal ID,
//! and the provider is the one the deal named). The mapping:
//!
//! | mk20 `status` | [`Stage`] | why |
//! |---|---|---|
//! | `accepted` | `Accepted` | stored, waiting for the pipeline |
//! | `uploading` | `Accepted` | waiting for data the client pushes; carport's deals are pulled, so this means "not started" |
//! | `processing` | `Processing` | fetching, checking, assigning a sector |
//! | `sealing` | `Sealing` | in a sector being sealed |
//! | `indexing` | `Sealing` | sealed, the provider still indexing: not complete yet |
//! | `complete` | `Complete` | |
//! | `failed` | `Failed { reason: errorMsg }` | |

use crate::types::{DealProductStatusResponse, DealState, DealStatusResponse};

/// Where a deal is, as carport sees it.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Stage {
    Accepted,
    Processing,
    Sealing,
    Complete,
    Failed { reason: String },
}

impl Stage {
    /// The stage of one product's status.
    pub fn of(status: &DealStatusResponse) -> Stage {
        match status.status {
            DealState::Accepted | DealState::AwaitingUpload => Stage::Accepted,
            DealState::Processing => Stage::Processing,
            DealState::Sealing | DealState::Indexing => Stage::Sealing,
            DealState::Complete => Stage::Complete,
            DealState::Failed => Stage::Failed { reason: status.error_msg.clone() },
        }
    }

    /// Whether the deal will not move any more.
    pub fn is_final(&self) -> bool {
        matches!(self, Stage::Complete | Stage::Failed { .. })
    }
}

/// A parsed status answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DealStatus {
    response: DealProductStatusResponse,
}

impl DealStatus {
    /// The answer if it has an entry to follow (`ddo_v1`, else `pdp_v1`).
    pub fn new(response: DealProductStatusResponse) -> Option<DealStatus> {
        (response.ddo_v1.is_some() || response.pdp_v1.is_some()).then_some(DealStatus { response })
    }

    /// The whole answer, per product.
    pub fn response(&self) -> &DealProductStatusResponse {
        &self.response
    }

    /// The entry followed: `ddo_v1` for carport's deals, `pdp_v1` for PDP-only ones.
    pub fn product(&self) -> &DealStatusResponse {
        match (&self.response.ddo_v1, &self.response.pdp_v1) {
            (Some(ddo), _) => ddo,
            (None, Some(pdp)) => pdp,
            (None, None) => unreachable!("DealStatus::new requires an entry"),
        }
    }

    /// The stage of that entry.
    pub fn stage(&self) -> Stage {
        Stage::of(self.product())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(state: DealState, error: &str) -> DealStatusResponse {
        DealStatusResponse { status: state, error_msg: error.to_string() }
    }

    #[test]
    fn maps_every_state() {
        let cases = [
            (DealState::Accepted, Stage::Accepted),
            (DealState::AwaitingUpload, Stage::Accepted),
            (DealState::Processing, Stage::Processing),
            (DealState::Sealing, Stage::Sealing),
            (DealState::Indexing, Stage::Sealing),
            (DealState::Complete, Stage::Complete),
            (DealState::Failed, Stage::Failed { reason: "no".into() }),
        ];
        for (state, stage) in cases {
            assert_eq!(Stage::of(&status(state, "no")), stage);
        }
    }

    #[test]
    fn follows_ddo_then_pdp() {
        let both = DealProductStatusResponse {
            ddo_v1: Some(status(DealState::Sealing, "")),
            pdp_v1: Some(status(DealState::Complete, "")),
        };
        assert_eq!(DealStatus::new(both).unwrap().stage(), Stage::Sealing);
        let pdp = DealProductStatusResponse {
            ddo_v1: None,
            pdp_v1: Some(status(DealState::Complete, "")),
        };
        assert_eq!(DealStatus::new(pdp).unwrap().stage(), Stage::Complete);
        assert_eq!(DealStatus::new(DealProductStatusResponse::default()), None);
    }
}
