//! The deal policy driven natively: an in-memory store applies the ledger's writes as the
//! Durable Object does, and a scripted broker answers. "Restarting" rebuilds everything from the
//! store alone (through JSON with the `serde` feature), so what the ledger needs must be in what
//! it wrote.

use std::collections::{BTreeMap, VecDeque};

use super::*;
use crate::archive::queue::{key, Ends};
use crate::archive::retrieval::Tier;
use crate::archive::{archive_record, ArchiveRecord};
use crate::piece::{piece_of, Aggregate};

#[derive(Clone, Debug, Default, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
struct Store {
    shards: BTreeMap<String, ShardEntry>,
    uploads: BTreeMap<String, UploadEntry>,
    aggs: BTreeMap<u64, AggEntry>,
    hold: Hold,
    next_agg: u64,
    active: Vec<u64>,
    ends: Ends,
    queue: BTreeMap<String, Queued>,
}

impl Store {
    fn apply(&mut self, writes: Vec<Write>) {
        for w in writes {
            match w {
                Write::Shard(s) => drop(self.shards.insert(s.car.clone(), s)),
                Write::Upload(u) => drop(self.uploads.insert(u.root.clone(), u)),
                Write::Aggregate(a) => drop(self.aggs.insert(a.id, a)),
                Write::Hold(h) => self.hold = h,
                Write::NextAggregate(n) => self.next_agg = n,
                Write::Activate(id) => self.active.push(id),
                Write::Retire(id) => self.active.retain(|&a| a != id),
                Write::Enqueue(qs) => {
                    for q in qs {
                        let at = self.ends.push_back(q.size);
                        self.queue.insert(key(at), q);
                    }
                }
                Write::Requeue(qs) => {
                    for (at, q) in self.ends.push_front(&qs).into_iter().zip(qs) {
                        self.queue.insert(key(at), q);
                    }
                }
                Write::Dequeue { count, bytes } => {
                    for at in self.ends.pop_front(count, bytes) {
                        self.queue.remove(&key(at));
                    }
                }
            }
        }
    }

    fn head(&self) -> Vec<ShardEntry> {
        self.queue.values().map(|q| self.shards[&q.car].clone()).collect()
    }

    fn view(&self) -> QueueView {
        let oldest = self.queue.values().next().map(|q| self.shards[&q.car].stored);
        QueueView { len: self.ends.len(), bytes: self.ends.bytes, oldest }
    }
}

#[cfg(feature = "serde")]
fn restart(store: &Store) -> Store {
    serde_json::from_str(&serde_json::to_string(store).unwrap()).unwrap()
}

#[cfg(not(feature = "serde"))]
fn restart(store: &Store) -> Store {
    store.clone()
}

/// A broker that answers from a script, then takes every offer and completes on the third
/// status question (processing, sealing, complete).
#[derive(Default)]
struct Broker {
    script: VecDeque<Result<Progress, BrokerError>>,
    calls: Vec<(Call, Proposal)>,
    polls: BTreeMap<String, u32>,
}

impl Broker {
    fn answer(&mut self, call: Call, agg: &AggEntry) -> Result<Progress, BrokerError> {
        self.calls.push((call, agg.proposal.clone()));
        if let Some(a) = self.script.pop_front() {
            return a;
        }
        match call {
            Call::Offer { .. } => Ok(Progress::Stage(Stage::Accepted)),
            Call::Status => {
                let n = self.polls.entry(agg.cid.clone()).or_default();
                *n += 1;
                Ok(match n {
                    1 => Progress::Stage(Stage::Processing),
                    2 => Progress::Stage(Stage::Sealing),
                    _ => Progress::Complete {
                        deal_id: Some("77".into()),
                        provider: Some("f01000".into()),
                    },
                })
            }
        }
    }
}

fn name(p: &Proposal) -> String {
    format!("deal-{}-{}", p.time_ms, p.random[0])
}

fn policy() -> Policy {
    Policy {
        min_bytes: 10_000,
        max_age_ms: 1_000,
        min_deal_size: 1 << 14,
        max_deal_size: 1 << 16,
        poll_ms: 100,
        retry_base_ms: 50,
        retry_max_ms: 400,
    }
}

/// The Durable Object's part, with the store in memory: load, call the ledger, store.
struct World {
    ledger: Ledger,
    store: Store,
    broker: Broker,
    /// Rebuild the store from what was written after every step.
    restarts: bool,
}

impl World {
    fn new(restarts: bool) -> Self {
        World {
            ledger: Ledger { policy: policy(), proposal_name: name },
            store: Store::default(),
            broker: Broker::default(),
            restarts,
        }
    }

    fn apply(&mut self, writes: Vec<Write>) {
        self.store.apply(writes);
        if self.restarts {
            self.store = restart(&self.store);
        }
    }

    /// Stores an upload of shards (each a piece of `len` bytes of `seed`) and completes it.
    fn upload(&mut self, root: &str, shards: &[(u8, usize)], now: u64) -> Vec<String> {
        let mut cars = Vec::new();
        for &(seed, len) in shards {
            let car = format!("car-{root}-{seed}");
            let new = NewShard {
                root: root.into(),
                car: car.clone(),
                key: format!("shards/{car}"),
                size: len as u64,
                piece: piece_of(&vec![seed; len]).unwrap().cid.to_string(),
                owner: "token".into(),
            };
            let upload = self.store.uploads.get(root).cloned();
            let existing = self.store.shards.get(&car).cloned();
            let added = self.ledger.add_shard(upload, existing, new, now).unwrap();
            assert!(!added.known);
            self.apply(added.writes);
            cars.push(car);
        }
        let upload = self.store.uploads.get(root).cloned();
        let entries = cars.iter().map(|c| self.store.shards[c].clone()).collect();
        let writes = self.ledger.complete_upload(upload, entries, now, root).unwrap();
        self.apply(writes);
        cars
    }

    /// One alarm: close aggregates that are due, then move every due deal one step.
    fn tick(&mut self, now: u64) {
        while self.ledger.aggregate_due(&self.store.view(), &self.store.hold, now) {
            let id = self.store.next_agg;
            let proposal = Proposal { time_ms: now, random: [id as u8; 10] };
            let writes = self.ledger.close_aggregate(id, self.store.head(), proposal, now).unwrap();
            self.apply(writes);
        }
        for id in self.store.active.clone() {
            let mut agg = self.store.aggs[&id].clone();
            let Some(call) = self.ledger.call(&mut agg, now) else { continue };
            let answer = self.broker.answer(call, &agg);
            match self.ledger.answer(agg, self.store.hold, answer, now) {
                Step::Recorded(writes) => self.apply(writes),
                Step::Failed(failure) => {
                    let shards = failure
                        .aggregate
                        .shards
                        .iter()
                        .map(|c| self.store.shards[c].clone())
                        .collect();
                    let writes = self.ledger.requeue(failure, shards, now);
                    self.apply(writes);
                }
            }
        }
    }

    fn next_due(&self, now: u64) -> Option<u64> {
        let active = self.store.active.iter().map(|id| &self.store.aggs[id]);
        self.ledger.next_due(&self.store.view(), &self.store.hold, active, now)
    }

    /// Ticks at every due time from `now` until nothing is due or `until`; the last tick's time.
    fn run(&mut self, mut now: u64, until: u64) -> u64 {
        while let Some(at) = self.next_due(now) {
            if at > until {
                break;
            }
            now = at.max(now);
            self.tick(now);
        }
        now
    }

    fn record(&self, root: &str) -> ArchiveRecord {
        let upload = self.store.uploads[root].clone();
        let shards = upload.shards.iter().map(|c| self.store.shards[c].clone()).collect();
        archive_record(upload, shards, &self.store.aggs, name, Some("http://sp.test"))
    }

    fn pulled(&mut self, id: u64, now: u64) {
        let w = self.ledger.pulled(self.store.aggs[&id].clone(), now);
        self.apply(w.into_iter().collect());
    }
}

#[test]
fn backoff_doubles_and_is_capped() {
    let p = policy();
    assert_eq!((1..=5).map(|a| p.backoff_ms(a)).collect::<Vec<_>>(), [50, 100, 200, 400, 400]);
    assert_eq!(p.backoff_ms(u32::MAX), 400);
}

#[test]
fn every_stage_from_stored_to_complete() {
    let mut w = World::new(false);
    w.upload("root", &[(1, 300), (2, 600)], 0);
    assert_eq!(w.record("root").stage, Stage::Stored);
    assert_eq!(w.next_due(0), Some(1_000), "the queue's age limit");

    w.tick(999);
    assert!(w.store.aggs.is_empty(), "not due before the age limit");
    w.tick(1_000);
    let r = w.record("root");
    assert_eq!(r.stage, Stage::Accepted, "closed and offered in the same tick");
    assert!(r.shards.iter().all(|s| s.aggregate.is_some() && s.inclusion_proof.is_some()));
    assert_eq!(w.store.ends.len(), 0);
    assert_eq!(w.store.active, [0]);
    assert_eq!(r.shards[0].times.offered, Some(1_000));
    assert_eq!(r.shards[0].deal.as_ref().unwrap().proposal, "deal-1000-0");

    let mut stages = Vec::new();
    let mut now = 1_000;
    while let Some(at) = w.next_due(now) {
        now = at;
        w.tick(now);
        stages.push(w.record("root").stage);
    }
    assert_eq!(stages, [Stage::Processing, Stage::Sealing, Stage::Sealing]);
    assert_eq!(now, 1_300, "asked every poll_ms");
    assert!(w.store.active.is_empty());
    let agg = w.store.aggs[&0].clone();
    assert_eq!(
        (agg.stage, agg.complete, agg.deal_id.as_deref()),
        (Stage::Complete, Some(1_300), Some("77"))
    );

    // Complete only once the provider pulled the aggregate.
    let r = w.record("root");
    assert!(r
        .shards
        .iter()
        .all(|s| s.note.as_deref().is_some_and(|n| n.contains("never fetched"))));
    assert_eq!(r.shards[0].times.complete, None);
    assert!(r.shards.iter().all(|s| s.tier == Tier::Hot && s.retrieval.is_none()));
    w.pulled(0, 1_400);
    w.pulled(0, 1_500);
    let r = w.record("root");
    assert_eq!(r.stage, Stage::Complete);
    assert_eq!((r.shards[0].times.pulled, r.shards[0].times.complete), (Some(1_400), Some(1_300)));
    assert_eq!(r.shards[1].note, None);

    // Pulled and complete: the provider holds each shard where the aggregate placed it.
    let placed = Aggregate::new(
        agg.deal_size,
        &r.shards.iter().map(|s| s.piece.parse().unwrap()).collect::<Vec<_>>(),
    )
    .unwrap();
    for (s, p) in r.shards.iter().zip(placed.placements()) {
        assert_eq!(s.tier, Tier::Both);
        let copy = &s.retrieval.as_ref().unwrap().copy;
        assert_eq!((copy.url.as_str(), copy.piece.as_str()), ("http://sp.test", agg.cid.as_str()));
        assert_eq!((copy.offset, copy.size), (p.payload_offset(), s.size));
    }
}

#[test]
fn a_full_queue_closes_at_once_and_aggregates_take_what_fits() {
    let mut w = World::new(false);
    // Pieces of 16 KiB (padded) each: four do not fit one 64 KiB deal with its index.
    w.upload("big", &[(1, 9_000), (2, 9_000), (3, 9_000), (4, 9_000)], 0);
    assert_eq!(w.next_due(5), Some(5), "past min_bytes: due now");
    w.tick(5);
    assert_eq!(w.store.aggs.len(), 1, "the rest is below min_bytes and young");
    assert_eq!(w.store.aggs[&0].shards, ["car-big-1", "car-big-2", "car-big-3"]);
    assert_eq!(w.store.active, [0]);
    let left: Vec<&str> = w.store.queue.values().map(|q| q.car.as_str()).collect();
    assert_eq!((left, w.store.ends.bytes), (vec!["car-big-4"], 9_000));
    assert_eq!(w.next_due(5), Some(105), "offered at once, then asked after every poll_ms");
    w.tick(1_000);
    assert_eq!(w.store.aggs[&1].shards, ["car-big-4"], "the age limit closes the rest");
}

#[test]
fn a_broker_that_fails_three_times_then_takes_the_deal() {
    let mut w = World::new(false);
    for n in 0..3 {
        w.broker.script.push_back(Err(BrokerError::Retry(format!("down {n}"))));
    }
    w.upload("root", &[(1, 300)], 0);
    w.tick(1_000);
    let agg = w.store.aggs[&0].clone();
    assert_eq!((agg.stage, agg.attempts, agg.next_at), (Stage::Offered, 1, 1_050));
    assert_eq!(agg.note.as_deref(), Some("broker: down 0 (attempt 1, retrying)"));
    w.tick(1_049);
    assert_eq!(w.broker.calls.len(), 1, "not before the backoff");
    w.tick(1_050);
    assert_eq!(w.store.aggs[&0].next_at, 1_150, "the backoff doubles");
    w.tick(1_150);
    let r = w.record("root");
    assert_eq!(r.stage, Stage::Offered);
    assert!(r.shards[0].note.as_deref().unwrap().contains("attempt 3"));
    w.tick(1_350);
    let agg = w.store.aggs[&0].clone();
    assert_eq!((agg.stage, agg.attempts, agg.note.as_ref()), (Stage::Accepted, 0, None));
    let offers: Vec<_> = w.broker.calls.iter().map(|(c, _)| *c).collect();
    assert_eq!(
        offers,
        [
            Call::Offer { retry: false },
            Call::Offer { retry: true },
            Call::Offer { retry: true },
            Call::Offer { retry: true }
        ]
    );
    assert!(w.broker.calls.iter().all(|(_, p)| *p == w.broker.calls[0].1), "one proposal");
    assert_eq!(w.store.aggs[&0].offered, Some(1_000), "offered when first offered");
    w.run(1_350, 10_000);
    assert_eq!(w.store.aggs[&0].stage, Stage::Complete);
}

#[test]
fn a_rejection_puts_the_pieces_back_first_and_holds_the_next_aggregate() {
    let mut w = World::new(false);
    w.broker.script.push_back(Err(BrokerError::Rejected("rejected: no".into())));
    let cars = w.upload("a", &[(1, 300), (2, 400)], 0);
    w.tick(1_000);
    let failed = &w.store.aggs[&0];
    assert_eq!(failed.failed.as_deref(), Some("rejected: no"));
    assert!(w.store.active.is_empty());
    assert_eq!(w.store.hold, Hold { until: 1_050, failures: 1 });
    let r = w.record("a");
    assert_eq!(r.stage, Stage::Stored);
    assert!(r.shards.iter().all(|s| s.aggregate.is_none() && s.inclusion_proof.is_none()));
    assert!(r.shards[0].note.as_deref().unwrap().contains("deal deal-1000-0 of aggregate"));

    // Another upload queued meanwhile goes behind the requeued pieces.
    w.upload("b", &[(3, 500)], 1_010);
    let order: Vec<&str> = w.store.queue.values().map(|q| q.car.as_str()).collect();
    assert_eq!(order, [cars[0].as_str(), cars[1].as_str(), "car-b-3"]);
    assert_eq!(w.store.ends.bytes, 1_200);

    w.tick(1_049);
    assert_eq!(w.store.aggs.len(), 1, "held");
    assert_eq!(w.next_due(1_049), Some(1_050));
    w.tick(1_050);
    let next = &w.store.aggs[&1];
    assert_eq!(next.shards, [cars[0].clone(), cars[1].clone(), "car-b-3".to_string()]);
    assert_ne!(next.proposal, w.store.aggs[&0].proposal, "a new deal");
    w.run(1_050, 10_000);
    assert_eq!(w.store.aggs[&1].stage, Stage::Complete);
    assert_eq!(w.store.hold, Hold::default(), "a completed deal lifts the hold");
}

#[test]
fn failures_in_a_row_lengthen_the_hold() {
    let mut w = World::new(false);
    w.broker.script.push_back(Ok(Progress::Failed("sector lost".into())));
    w.broker.script.push_back(Err(BrokerError::Rejected("no".into())));
    w.upload("a", &[(1, 300)], 0);
    w.tick(1_000);
    assert_eq!(w.store.hold, Hold { until: 1_050, failures: 1 });
    w.tick(1_050);
    assert_eq!(w.store.hold, Hold { until: 1_150, failures: 2 });
    assert_eq!(w.store.aggs[&0].failed.as_deref(), Some("sector lost"));
}

#[test]
fn a_restart_between_any_two_steps_changes_nothing() {
    let scenario = |restarts| {
        let mut w = World::new(restarts);
        w.broker.script.extend([
            Err(BrokerError::Retry("busy".into())),
            Err(BrokerError::Retry("busy".into())),
            Err(BrokerError::Rejected("rejected".into())),
            Ok(Progress::Stage(Stage::Accepted)),
            Err(BrokerError::Retry("status down".into())),
        ]);
        w.upload("a", &[(1, 300), (2, 9_000)], 0);
        let now = w.run(0, 1_200);
        w.upload("b", &[(3, 700)], now);
        w.run(now, 100_000);
        for id in 1..w.store.next_agg {
            w.pulled(id, 200_000 + id);
        }
        let (a, b) = (w.record("a"), w.record("b"));
        (w.store, w.broker.calls, a, b)
    };
    let straight = scenario(false);
    let restarted = scenario(true);
    assert_eq!(straight, restarted);
    let (store, calls, a, b) = straight;
    assert_eq!((a.stage, b.stage), (Stage::Complete, Stage::Complete));
    assert!(store.aggs[&0].failed.is_some());
    assert_eq!(store.aggs.len(), 3, "a failed aggregate, a's pieces again, then b's");
    assert_eq!(calls.len(), 12);
}

#[test]
fn a_shard_of_another_tokens_upload_is_refused() {
    let mut w = World::new(false);
    w.upload("root", &[(1, 300)], 0);
    let new = NewShard {
        root: "root".into(),
        car: "intruder".into(),
        key: "k".into(),
        size: 1,
        piece: "p".into(),
        owner: "other".into(),
    };
    let upload = w.store.uploads.get("root").cloned();
    let err = w.ledger.add_shard(upload, None, new.clone(), 5).unwrap_err();
    assert!(err.contains("is stored and complete by another token"), "{err}");

    // The owner may send a shard again: it is known, under both roots.
    let mut again = new;
    again.owner = "token".into();
    again.car = "car-root-1".into();
    again.root = "other-root".into();
    let existing = w.store.shards.get("car-root-1").cloned();
    let added = w.ledger.add_shard(None, existing, again, 9).unwrap();
    assert!(added.known);
    let Write::Shard(sh) = &added.writes[0] else { panic!("{:?}", added.writes) };
    assert_eq!((sh.roots.len(), sh.stored), (2, 0));
}

#[test]
fn a_bad_queued_piece_is_an_error_not_an_aggregate() {
    let mut w = World::new(false);
    w.upload("root", &[(1, 300)], 0);
    let mut head = w.store.head();
    head[0].piece = "not a cid".into();
    let p = Proposal { time_ms: 0, random: [0; 10] };
    let err = w.ledger.close_aggregate(0, head, p, 1_000).unwrap_err();
    assert!(matches!(err, LedgerError::BadPiece { ref car, .. } if car == "car-root-1"), "{err}");
}
