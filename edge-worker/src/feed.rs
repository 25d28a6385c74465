//! The blocks of one response: an upstream CAR stream of the entity when there is one, else the
//! sources block by block. One CAR request per response stands in for the many block requests a
//! path and its file would otherwise make of the upstreams.

use std::rc::Rc;

use carport_core::Cid;

use crate::sources::{CarStream, Misses, Sources, Unavailable};

/// Blocks for one response (see the module).
pub struct Feed {
    src: Rc<Sources>,
    car: Option<CarStream>,
    car_req: CarRequest,
}

/// The CAR request (path and query) a feed makes of the upstreams when a block is first missing:
/// once per response, a failed one is not repeated.
enum CarRequest {
    None,
    Ready(String),
    Made,
}

impl CarRequest {
    /// The request to make now, if one is ready: from here on it counts as made.
    fn make(&mut self) -> Option<String> {
        match std::mem::replace(self, CarRequest::Made) {
            CarRequest::Ready(tail) => Some(tail),
            other => {
                *self = other;
                None
            }
        }
    }
}

/// The CAR request of the entity at `rest` under `cid` (with `entity-bytes` when given).
pub fn entity_car(cid: &Cid, rest: &[String], bytes: Option<String>) -> String {
    let mut tail = format!(
        "/ipfs/{cid}{}?format=car&dag-scope=entity&car-dups=n",
        carport_core::gateway::path::encode_path(rest)
    );
    if let Some(b) = bytes {
        tail.push_str(&format!("&entity-bytes={b}"));
    }
    tail
}

impl Feed {
    pub fn new(src: Rc<Sources>, car_req: Option<String>) -> Self {
        Feed { src, car: None, car_req: car_req.map_or(CarRequest::None, CarRequest::Ready) }
    }

    /// Sets the CAR request to make if a block turns out to be missing, until one is made.
    pub fn aim(&mut self, car_req: String) {
        if !matches!(self.car_req, CarRequest::Made) {
            self.car_req = CarRequest::Ready(car_req);
        }
    }

    /// Says the response needs no more blocks (see [`CarStream::finish`]).
    pub async fn finish(&mut self) {
        if let Some(car) = &mut self.car {
            car.finish().await;
        }
    }

    pub async fn get(&mut self, cid: &Cid) -> Result<Vec<u8>, Unavailable> {
        self.src.spend(cid)?;
        let mut misses = Misses::default();
        if let Some(car) = &mut self.car {
            match car.take(cid).await {
                Ok(Some(b)) => {
                    self.src.remember(cid, &b);
                    return Ok(b);
                }
                Ok(None) => {}
                Err(e) => misses.reasons.push(e),
            }
        }
        if let Some(b) = self.src.local(cid, &mut misses).await {
            return Ok(b);
        }
        if let Some(tail) = self.car_req.make() {
            match self.src.open_car(&tail).await {
                Some(mut car) => {
                    let got = car.take(cid).await;
                    self.car = Some(car);
                    match got {
                        Ok(Some(b)) => {
                            self.src.remember(cid, &b);
                            return Ok(b);
                        }
                        Ok(None) => {}
                        Err(e) => misses.reasons.push(e),
                    }
                }
                None => misses.reasons.push("no upstream answered the CAR request".into()),
            }
        }
        self.src.ask_upstreams(cid, misses).await
    }
}
