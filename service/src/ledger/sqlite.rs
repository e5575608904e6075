//! The processing log in SQLite (WAL, synchronous=FULL): each entry is stored
//! as JSON beside the columns that queries filter and order on.

use super::KeyBinding;
use super::rules::Rule;
use super::{Ledger, LedgerError, LogEntry, LogPage, LogQuery};
use async_trait::async_trait;
use chrono::Utc;
use rusqlite::{Connection, OptionalExtension, params, params_from_iter, types::Value};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use uuid::Uuid;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS log_entries (
    id          TEXT PRIMARY KEY,
    status      TEXT NOT NULL,
    uploader    TEXT NOT NULL,
    lease_until INTEGER NOT NULL DEFAULT 0,
    entry       TEXT NOT NULL
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS log_by_status ON log_entries (status, id);
CREATE INDEX IF NOT EXISTS log_by_uploader ON log_entries (uploader, id);
CREATE TABLE IF NOT EXISTS request_keys (
    key      TEXT PRIMARY KEY,
    id       TEXT NOT NULL,
    bound_at INTEGER NOT NULL
) WITHOUT ROWID;
";

#[derive(Debug, Clone)]
pub struct SqliteLedger {
    connection: Arc<Mutex<Connection>>,
}

impl SqliteLedger {
    pub fn open(path: &Path) -> anyhow::Result<Self> {
        if let Some(folder) = path.parent() {
            std::fs::create_dir_all(folder)?;
        }
        let connection = Connection::open(path)?;
        connection.busy_timeout(Duration::from_secs(5))?;
        connection.pragma_update(None, "journal_mode", "WAL")?;
        // The entry must survive power loss once the client got its 202.
        connection.pragma_update(None, "synchronous", "FULL")?;
        connection.execute_batch(SCHEMA)?;
        Ok(Self {
            connection: Arc::new(Mutex::new(connection)),
        })
    }

    /// Runs blocking SQLite work off the async threads.
    async fn with_connection<T, F>(&self, work: F) -> Result<T, LedgerError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> Result<T, LedgerError> + Send + 'static,
    {
        let connection = Arc::clone(&self.connection);
        tokio::task::spawn_blocking(move || {
            let mut guard = connection
                .lock()
                .map_err(|_| LedgerError::backend(anyhow::anyhow!("ledger lock poisoned")))?;
            work(&mut guard)
        })
        .await
        .map_err(LedgerError::backend)?
    }
}

fn parse_entry(json: &str) -> Result<LogEntry, LedgerError> {
    serde_json::from_str(json).map_err(LedgerError::backend)
}

fn to_json(entry: &LogEntry) -> Result<String, LedgerError> {
    serde_json::to_string(entry).map_err(LedgerError::backend)
}

#[async_trait]
impl Ledger for SqliteLedger {
    async fn bind_request_key(
        &self,
        key: &str,
        id: Uuid,
        replacing: Option<Uuid>,
    ) -> Result<KeyBinding, LedgerError> {
        let key = key.to_owned();
        self.with_connection(move |connection| {
            let now = chrono::Utc::now().timestamp();
            let changed = match replacing {
                None => connection.execute(
                    "INSERT INTO request_keys (key, id, bound_at) VALUES (?1, ?2, ?3)
                     ON CONFLICT (key) DO NOTHING",
                    params![key, id.to_string(), now],
                ),
                Some(stale) => connection.execute(
                    "UPDATE request_keys SET id = ?2, bound_at = ?3 WHERE key = ?1 AND id = ?4",
                    params![key, id.to_string(), now, stale.to_string()],
                ),
            }
            .map_err(LedgerError::backend)?;
            if changed == 1 {
                return Ok(KeyBinding::Bound);
            }
            let (bound, at): (String, i64) = connection
                .query_row(
                    "SELECT id, bound_at FROM request_keys WHERE key = ?1",
                    params![key],
                    |row| Ok((row.get(0)?, row.get(1)?)),
                )
                .map_err(LedgerError::backend)?;
            Ok(KeyBinding::Existing {
                id: bound.parse().map_err(LedgerError::backend)?,
                at: chrono::DateTime::from_timestamp(at, 0).unwrap_or_default(),
            })
        })
        .await
    }

    /// Reads the entry, lets `change` edit it, and writes it back in one
    /// transaction; `change` returns `Ok(false)` to leave the row untouched.
    async fn transition(&self, id: Uuid, change: Rule) -> Result<Option<LogEntry>, LedgerError> {
        self.with_connection(move |connection| {
            let tx = connection.transaction().map_err(LedgerError::backend)?;
            let row: Option<(String, i64)> = tx
                .query_row(
                    "SELECT entry, lease_until FROM log_entries WHERE id = ?1",
                    params![id.to_string()],
                    |row| Ok((row.get(0)?, row.get(1)?)),
                )
                .optional()
                .map_err(LedgerError::backend)?;
            let (json, mut lease_until) = row.ok_or(LedgerError::NotFound(id))?;
            let mut entry = parse_entry(&json)?;
            if !change(&mut entry, &mut lease_until)? {
                return Ok(None);
            }
            entry.updated_at = Utc::now();
            tx.execute(
                "UPDATE log_entries SET status = ?2, lease_until = ?3, entry = ?4 WHERE id = ?1",
                params![
                    id.to_string(),
                    entry.status.as_str(),
                    lease_until,
                    to_json(&entry)?
                ],
            )
            .map_err(LedgerError::backend)?;
            tx.commit().map_err(LedgerError::backend)?;
            Ok(Some(entry))
        })
        .await
    }

    async fn insert(&self, entry: &LogEntry) -> Result<(), LedgerError> {
        let (id, json) = (entry.id, to_json(entry)?);
        let (status, uploader) = (entry.status.as_str(), entry.uploader.username.clone());
        self.with_connection(move |connection| {
            let inserted = connection
                .execute(
                    "INSERT INTO log_entries (id, status, uploader, entry) VALUES (?1, ?2, ?3, ?4)
                     ON CONFLICT (id) DO NOTHING",
                    params![id.to_string(), status, uploader, json],
                )
                .map_err(LedgerError::backend)?;
            if inserted == 0 {
                return Err(LedgerError::Duplicate(id));
            }
            Ok(())
        })
        .await
    }

    async fn get(&self, id: Uuid) -> Result<Option<LogEntry>, LedgerError> {
        self.with_connection(move |connection| {
            connection
                .query_row(
                    "SELECT entry FROM log_entries WHERE id = ?1",
                    params![id.to_string()],
                    |row| row.get::<_, String>(0),
                )
                .optional()
                .map_err(LedgerError::backend)?
                .map(|json| parse_entry(&json))
                .transpose()
        })
        .await
    }

    async fn list(&self, query: &LogQuery) -> Result<LogPage, LedgerError> {
        let query = query.clone();
        self.with_connection(move |connection| {
            let mut conditions = Vec::new();
            let mut values: Vec<Value> = Vec::new();
            if let Some(before) = query.before {
                conditions.push("id < ?");
                values.push(Value::Text(before.to_string()));
            }
            if let Some(status) = query.status {
                conditions.push("status = ?");
                values.push(Value::Text(status.as_str().to_owned()));
            }
            if let Some(uploader) = &query.uploader {
                conditions.push("uploader = ?");
                values.push(Value::Text(uploader.clone()));
            }
            let filter = if conditions.is_empty() {
                String::new()
            } else {
                format!("WHERE {}", conditions.join(" AND "))
            };
            // One extra row tells whether another page follows.
            values.push(Value::Integer(i64::from(query.limit) + 1));
            let sql = format!("SELECT entry FROM log_entries {filter} ORDER BY id DESC LIMIT ?");
            let mut statement = connection.prepare(&sql).map_err(LedgerError::backend)?;
            let mut entries = statement
                .query_map(params_from_iter(values), |row| row.get::<_, String>(0))
                .map_err(LedgerError::backend)?
                .map(|json| parse_entry(&json.map_err(LedgerError::backend)?))
                .collect::<Result<Vec<_>, _>>()?;
            let next = if entries.len() > query.limit as usize {
                entries.truncate(query.limit as usize);
                entries.last().map(|entry| entry.id)
            } else {
                None
            };
            Ok(LogPage { entries, next })
        })
        .await
    }

    async fn unfinished(&self, limit: u32) -> Result<Vec<Uuid>, LedgerError> {
        self.with_connection(move |connection| {
            let mut statement = connection
                .prepare(
                    "SELECT id FROM log_entries WHERE status IN ('pending', 'processing')
                     ORDER BY id LIMIT ?1",
                )
                .map_err(LedgerError::backend)?;
            statement
                .query_map(params![limit], |row| row.get::<_, String>(0))
                .map_err(LedgerError::backend)?
                .map(|id| {
                    let id = id.map_err(LedgerError::backend)?;
                    Uuid::parse_str(&id).map_err(LedgerError::backend)
                })
                .collect()
        })
        .await
    }
}
