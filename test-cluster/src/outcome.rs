//! What one attempt of a command did, said honestly.
//!
//! Go's harness re-sends a command until some store answers without error,
//! so a write that timed out may apply twice, and a helper that gives up
//! panics. That is right for the Go suites and wrong for anyone recording
//! a history: a checker must know, for every attempt, whether it certainly
//! took effect, certainly did not, or may still. [`Outcome`] says which,
//! and [`Cluster::try_command_on_store`](crate::Cluster::try_command_on_store)
//! and its siblings produce it.
//!
//! The classification rests on where the raftstore answers each error:
//!
//! | answer | where it is given | [`Outcome`] |
//! |---|---|---|
//! | no error | after the entry applied | `Ok` |
//! | NotLeader, StoreNotMatch | before proposing | `Refused` |
//! | EpochNotMatch, KeyNotInRegion | before proposing, or at apply instead of applying | `Refused` |
//! | StaleCommand | before proposing, or once another term's entry took the command's log index | `Refused` |
//! | the router has no peer of the region; the store is down; no peer known | never delivered | `Refused` |
//! | RegionNotFound in an answer | also when a peer is destroyed with proposals pending, which other peers may still commit | `Unknown` |
//! | any other error (text only) | anywhere | `Unknown` |
//! | no answer within the timeout | anywhere | `Unknown` |

use proto::errorpb;
use proto::raft_cmdpb::RaftCmdResponse;

use kv::util::engine_util::DbSnapshot;

/// A command's answer: the response and, for a Snap command, a snapshot of
/// the store's engine taken when the command applied.
pub struct Answer {
    /// The raftstore's response.
    pub resp: RaftCmdResponse,
    /// The snapshot a Snap request carries back.
    pub snap: Option<DbSnapshot>,
}

impl std::fmt::Debug for Answer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Answer")
            .field("resp", &self.resp)
            .field("snap", &self.snap.as_ref().map(|_| "DbSnapshot"))
            .finish()
    }
}

/// What one attempt of a command did.
// `Ok` is the common case and carries the answer; boxing it would cost an
// allocation per command to save moving a few hundred bytes.
#[allow(clippy::large_enum_variant)]
#[derive(Debug)]
pub enum Outcome {
    /// Applied, exactly once (a single attempt proposes once).
    Ok(Answer),
    /// Certainly had no effect, and never will.
    Refused(Refusal),
    /// May have taken effect, or may take effect later, or never.
    Unknown(Uncertain),
}

/// Why a command certainly had no effect.
#[derive(Debug)]
pub enum Refusal {
    /// The store answered with an error that rules out any effect.
    Answer(Box<RaftCmdResponse>),
    /// The store has no live peer of the region: the command was never
    /// queued (the router's RegionNotFound).
    NoPeer {
        /// The store asked.
        store_id: u64,
        /// The region the command named.
        region_id: u64,
    },
    /// The store is not running (or is stopping).
    StoreDown(u64),
    /// The harness knows no peer of the region to send the command to.
    Unroutable {
        /// The region the command named.
        region_id: u64,
    },
}

/// Why an attempt's effect is unknown.
#[derive(Debug)]
pub enum Uncertain {
    /// No answer before the timeout (or the store dropped the callback).
    NoAnswer,
    /// An error after which the command may still apply.
    Answer(Box<RaftCmdResponse>),
}

impl Outcome {
    /// Classifies a store's answer (see the [module docs](self)).
    pub fn of_answer(resp: RaftCmdResponse, snap: Option<DbSnapshot>) -> Outcome {
        let Some(err) = resp.header.as_ref().and_then(|h| h.error.as_ref()) else {
            return Outcome::Ok(Answer { resp, snap });
        };
        if rules_out_effect(err) {
            Outcome::Refused(Refusal::Answer(Box::new(resp)))
        } else {
            Outcome::Unknown(Uncertain::Answer(Box::new(resp)))
        }
    }

    /// True for [`Outcome::Ok`].
    pub fn is_ok(&self) -> bool {
        matches!(self, Outcome::Ok(_))
    }

    /// True for [`Outcome::Refused`].
    pub fn is_refused(&self) -> bool {
        matches!(self, Outcome::Refused(_))
    }

    /// True for [`Outcome::Unknown`].
    pub fn is_unknown(&self) -> bool {
        matches!(self, Outcome::Unknown(_))
    }

    /// The store's response, whatever it said; `None` if there was none.
    pub fn response(&self) -> Option<&RaftCmdResponse> {
        match self {
            Outcome::Ok(a) => Some(&a.resp),
            Outcome::Refused(Refusal::Answer(r)) | Outcome::Unknown(Uncertain::Answer(r)) => {
                Some(r)
            }
            _ => None,
        }
    }

    /// The region error of the attempt: the store's answer, or the
    /// router's RegionNotFound. `None` for success, a down store and no
    /// answer.
    pub fn error(&self) -> Option<errorpb::Error> {
        match self {
            Outcome::Refused(Refusal::NoPeer { region_id, .. }) => Some(errorpb::Error {
                message: format!("region {region_id} not found"),
                region_not_found: Some(errorpb::RegionNotFound {
                    region_id: *region_id,
                }),
                ..Default::default()
            }),
            _ => self
                .response()
                .and_then(|r| r.header.as_ref())
                .and_then(|h| h.error.clone()),
        }
    }

    /// The answer of a successful attempt.
    pub fn ok(self) -> Option<Answer> {
        match self {
            Outcome::Ok(a) => Some(a),
            _ => None,
        }
    }

    /// Any answer the store gave, error or not, as Go's `CallCommand`
    /// returns it; `None` when nothing was answered.
    pub fn into_answer(self) -> Option<(RaftCmdResponse, Option<DbSnapshot>)> {
        match self {
            Outcome::Ok(a) => Some((a.resp, a.snap)),
            Outcome::Refused(Refusal::Answer(r)) | Outcome::Unknown(Uncertain::Answer(r)) => {
                Some((*r, None))
            }
            _ => None,
        }
    }
}

/// Errors the raftstore gives only when the command did not and will not
/// apply.
fn rules_out_effect(err: &errorpb::Error) -> bool {
    err.not_leader.is_some()
        || err.store_not_match.is_some()
        || err.epoch_not_match.is_some()
        || err.key_not_in_region.is_some()
        || err.stale_command.is_some()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proto::raft_cmdpb::RaftResponseHeader;

    fn answer_with(err: errorpb::Error) -> RaftCmdResponse {
        RaftCmdResponse {
            header: Some(RaftResponseHeader {
                error: Some(err),
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    #[test]
    fn errors_before_or_instead_of_applying_are_refusals() {
        let refusing = [
            errorpb::Error {
                not_leader: Some(Default::default()),
                ..Default::default()
            },
            errorpb::Error {
                store_not_match: Some(Default::default()),
                ..Default::default()
            },
            errorpb::Error {
                epoch_not_match: Some(Default::default()),
                ..Default::default()
            },
            errorpb::Error {
                key_not_in_region: Some(Default::default()),
                ..Default::default()
            },
            errorpb::Error {
                stale_command: Some(Default::default()),
                ..Default::default()
            },
        ];
        for err in refusing {
            let o = Outcome::of_answer(answer_with(err.clone()), None);
            assert!(o.is_refused(), "{err:?}");
            assert_eq!(o.error(), Some(err));
        }
    }

    #[test]
    fn other_errors_leave_the_effect_unknown() {
        let unknown = [
            errorpb::Error {
                region_not_found: Some(Default::default()),
                ..Default::default()
            },
            errorpb::Error {
                message: "something else".into(),
                ..Default::default()
            },
        ];
        for err in unknown {
            let o = Outcome::of_answer(answer_with(err.clone()), None);
            assert!(o.is_unknown(), "{err:?}");
            assert!(o.into_answer().is_some());
        }
    }

    #[test]
    fn an_answer_without_error_is_ok() {
        let o = Outcome::of_answer(RaftCmdResponse::default(), None);
        assert!(o.is_ok());
        assert_eq!(o.error(), None);
    }

    #[test]
    fn a_missing_peer_is_a_refusal_with_region_not_found() {
        let o = Outcome::Refused(Refusal::NoPeer {
            store_id: 2,
            region_id: 7,
        });
        assert_eq!(
            o.error().and_then(|e| e.region_not_found),
            Some(errorpb::RegionNotFound { region_id: 7 })
        );
        assert!(o.into_answer().is_none());
    }
}
