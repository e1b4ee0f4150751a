//! One modification of the storage: a put or a delete in a column family.

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Modify {
    Put {
        cf: String,
        key: Vec<u8>,
        value: Vec<u8>,
    },
    Delete {
        cf: String,
        key: Vec<u8>,
    },
}

impl Modify {
    pub fn put(cf: &str, key: &[u8], value: &[u8]) -> Self {
        Modify::Put {
            cf: cf.to_string(),
            key: key.to_vec(),
            value: value.to_vec(),
        }
    }

    pub fn delete(cf: &str, key: &[u8]) -> Self {
        Modify::Delete {
            cf: cf.to_string(),
            key: key.to_vec(),
        }
    }

    pub fn key(&self) -> &[u8] {
        match self {
            Modify::Put { key, .. } | Modify::Delete { key, .. } => key,
        }
    }

    /// The new value; `None` for a delete.
    pub fn value(&self) -> Option<&[u8]> {
        match self {
            Modify::Put { value, .. } => Some(value),
            Modify::Delete { .. } => None,
        }
    }

    pub fn cf(&self) -> &str {
        match self {
            Modify::Put { cf, .. } | Modify::Delete { cf, .. } => cf,
        }
    }
}
