//! RawGet, RawPut, RawDelete and RawScan. Errors are answered in the
//! response (`region_error` for region trouble, `error` otherwise), never
//! as a failed call and never as a panic.

use proto::kvrpcpb::{
    Context, KvPair, RawDeleteRequest, RawDeleteResponse, RawGetRequest, RawGetResponse,
    RawPutRequest, RawPutResponse, RawScanRequest, RawScanResponse,
};

use super::{split_error, Server};
use crate::storage::{is_user_cf, Modify};

fn check_cf(cf: &str) -> crate::Result<()> {
    if is_user_cf(cf) {
        Ok(())
    } else {
        Err(crate::Error::Other(format!("invalid column family {cf:?}")))
    }
}

fn context(ctx: &Option<Context>) -> Context {
    ctx.unwrap_or_default()
}

impl Server {
    /// The value of `key` in `cf`; `not_found` if there is none.
    pub fn raw_get(&self, req: &RawGetRequest) -> RawGetResponse {
        // student: begin 1: read the key through a storage reader; `not_found` when absent, errors in the response
        let result = check_cf(&req.cf).and_then(|()| {
            let reader = self.storage.reader(&context(&req.context))?;
            reader.get_cf(&req.cf, &req.key)
        });
        match result {
            Ok(Some(value)) => RawGetResponse {
                value,
                ..Default::default()
            },
            Ok(None) => RawGetResponse {
                not_found: true,
                ..Default::default()
            },
            Err(e) => {
                let (region_error, error) = split_error(e);
                RawGetResponse {
                    region_error,
                    error,
                    ..Default::default()
                }
            }
        }
        // student: end
    }

    pub fn raw_put(&self, req: &RawPutRequest) -> RawPutResponse {
        // student: begin 1: write one Put through the storage; errors in the response
        let result = check_cf(&req.cf).and_then(|()| {
            self.storage.write(
                &context(&req.context),
                vec![Modify::put(&req.cf, &req.key, &req.value)],
            )
        });
        match result {
            Ok(()) => RawPutResponse::default(),
            Err(e) => {
                let (region_error, error) = split_error(e);
                RawPutResponse {
                    region_error,
                    error,
                }
            }
        }
        // student: end
    }

    pub fn raw_delete(&self, req: &RawDeleteRequest) -> RawDeleteResponse {
        // student: begin 1: write one Delete through the storage; errors in the response
        let result = check_cf(&req.cf).and_then(|()| {
            self.storage.write(
                &context(&req.context),
                vec![Modify::delete(&req.cf, &req.key)],
            )
        });
        match result {
            Ok(()) => RawDeleteResponse::default(),
            Err(e) => {
                let (region_error, error) = split_error(e);
                RawDeleteResponse {
                    region_error,
                    error,
                }
            }
        }
        // student: end
    }

    /// Up to `limit` pairs of `cf` from `start_key` on, in key order.
    pub fn raw_scan(&self, req: &RawScanRequest) -> RawScanResponse {
        // student: begin 1: up to `limit` pairs of `cf` from `start_key` on, in key order; errors in the response
        let result = check_cf(&req.cf).and_then(|()| {
            let reader = self.storage.reader(&context(&req.context))?;
            let mut kvs = Vec::new();
            let mut it = reader.iter_cf(&req.cf);
            it.seek(&req.start_key);
            while it.valid() && kvs.len() < req.limit as usize {
                kvs.push(KvPair {
                    error: None,
                    key: it.key().to_vec(),
                    value: it.value().to_vec(),
                });
                it.next();
            }
            it.status()?;
            Ok(kvs)
        });
        match result {
            Ok(kvs) => RawScanResponse {
                kvs,
                ..Default::default()
            },
            Err(e) => {
                let (region_error, error) = split_error(e);
                RawScanResponse {
                    region_error,
                    error,
                    ..Default::default()
                }
            }
        }
        // student: end
    }
}
