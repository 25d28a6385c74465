//! One driver for core's sans-IO machines (the resolver, the file reader, the traversal): step
//! the machine, fetch each block it asks for from a source, hand it over, until it gives
//! something back. Every place that walks a DAG goes through [`drive`].

use carport_core::gateway::resolve::{ResolveError, Resolved, Resolver, Step};
use carport_core::gateway::traverse::{TStep, Traversal, TraverseError};
use carport_core::unixfs::read::{FileError, FileReader, FileStep};
use carport_core::Cid;

use crate::feed::{entity_car, Feed};
use crate::sources::{Sources, Unavailable};

/// What a machine wants next: a block, or to give something back.
pub enum Next<T> {
    Need(Cid),
    Out(T),
}

/// A core machine that asks for blocks by CID.
pub trait Machine {
    type Out;
    type Error;
    /// Steps until the machine needs a block or has something to give back.
    fn next(&mut self) -> Result<Next<Self::Out>, Self::Error>;
    /// Hands over the block last asked for.
    fn provide(&mut self, cid: &Cid, block: Vec<u8>) -> Result<(), Self::Error>;
    /// The upstream CAR request of the rest of the machine's work from where it is now, for a
    /// source that asks upstreams for whole CARs.
    fn rest_car(&self) -> Option<String> {
        None
    }
}

/// Where a machine's blocks come from.
pub trait Blocks {
    async fn get(&mut self, cid: &Cid) -> Result<Vec<u8>, Unavailable>;
    /// Takes the CAR request to make if a block is missing; only a [`Feed`] makes one.
    fn aim(&mut self, _car_req: String) {}
}

/// Why a drive stopped before the machine gave something back.
pub enum Halt<E> {
    /// No source had a block.
    Source(Unavailable),
    /// The machine refused a block or the DAG.
    Machine(E),
}

/// Steps `m`, fetching the blocks it asks for from `blocks`, until it gives something back.
pub async fn drive<M: Machine, B: Blocks>(
    m: &mut M,
    blocks: &mut B,
) -> Result<M::Out, Halt<M::Error>> {
    loop {
        match m.next().map_err(Halt::Machine)? {
            Next::Need(cid) => {
                if let Some(car_req) = m.rest_car() {
                    blocks.aim(car_req);
                }
                let block = blocks.get(&cid).await.map_err(Halt::Source)?;
                m.provide(&cid, block).map_err(Halt::Machine)?;
            }
            Next::Out(out) => return Ok(out),
        }
    }
}

impl Blocks for &Sources {
    async fn get(&mut self, cid: &Cid) -> Result<Vec<u8>, Unavailable> {
        self.block(cid).await
    }
}

impl Blocks for Feed {
    async fn get(&mut self, cid: &Cid) -> Result<Vec<u8>, Unavailable> {
        Feed::get(self, cid).await
    }

    fn aim(&mut self, car_req: String) {
        Feed::aim(self, car_req)
    }
}

/// A source with one block already in hand (the one resolution ended at), handed over the first
/// time it is asked for instead of being fetched again.
pub struct Held<B> {
    held: Option<(Cid, Vec<u8>)>,
    pub rest: B,
}

impl<B> Held<B> {
    pub fn new(cid: Cid, block: Vec<u8>, rest: B) -> Self {
        Held { held: Some((cid, block)), rest }
    }
}

impl<B: Blocks> Blocks for Held<B> {
    async fn get(&mut self, cid: &Cid) -> Result<Vec<u8>, Unavailable> {
        match self.held.take() {
            Some((c, block)) if c == *cid => Ok(block),
            other => {
                self.held = other;
                self.rest.get(cid).await
            }
        }
    }

    fn aim(&mut self, car_req: String) {
        self.rest.aim(car_req)
    }
}

/// Resolution ends with what the path names; the rest of its work is the CAR of the path from
/// the block it is at.
impl Machine for Resolver {
    type Out = Resolved;
    type Error = ResolveError;

    fn next(&mut self) -> Result<Next<Resolved>, ResolveError> {
        Ok(match self.step()? {
            Step::Need(cid) => Next::Need(cid),
            Step::Done(done) => Next::Out(done),
        })
    }

    fn provide(&mut self, cid: &Cid, block: Vec<u8>) -> Result<(), ResolveError> {
        Resolver::provide(self, cid, block)
    }

    fn rest_car(&self) -> Option<String> {
        let (from, rest) = self.position();
        Some(entity_car(&from, rest, None))
    }
}

/// A file's range gives its next bytes (never empty), `None` at its end.
impl Machine for FileReader {
    type Out = Option<Vec<u8>>;
    type Error = FileError;

    fn next(&mut self) -> Result<Next<Option<Vec<u8>>>, FileError> {
        loop {
            match self.step()? {
                FileStep::Need(cid) => return Ok(Next::Need(cid)),
                FileStep::Visited(_) => {}
                FileStep::Data(d) if d.is_empty() => {}
                FileStep::Data(d) => return Ok(Next::Out(Some(d))),
                FileStep::Done => return Ok(Next::Out(None)),
            }
        }
    }

    fn provide(&mut self, cid: &Cid, block: Vec<u8>) -> Result<(), FileError> {
        FileReader::provide(self, cid, block)
    }
}

/// A traversal gives its next block in CAR order, `None` at its end.
impl Machine for Traversal {
    type Out = Option<(Cid, Vec<u8>)>;
    type Error = TraverseError;

    fn next(&mut self) -> Result<Next<Option<(Cid, Vec<u8>)>>, TraverseError> {
        Ok(match self.step()? {
            TStep::Need(cid) => Next::Need(cid),
            TStep::Emit(cid, data) => Next::Out(Some((cid, data))),
            TStep::Done => Next::Out(None),
        })
    }

    fn provide(&mut self, cid: &Cid, block: Vec<u8>) -> Result<(), TraverseError> {
        Traversal::provide(self, cid, block)
    }
}
