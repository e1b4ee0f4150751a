//! TinyKV's protocol buffers, generated at build time.
//!
//! Package, message, field and service names and field numbers match the Go
//! original exactly, so messages encoded by one side decode on the other.

macro_rules! package {
    ($name:ident) => {
        #[allow(clippy::all, clippy::pedantic, missing_docs)]
        pub mod $name {
            include!(concat!(env!("OUT_DIR"), "/", stringify!($name), ".rs"));
        }
    };
}

package!(eraftpb);
package!(metapb);
package!(errorpb);
package!(raft_cmdpb);
package!(raft_serverpb);
package!(schedulerpb);
package!(kvrpcpb);
package!(coprocessor);
package!(tinykvpb);
