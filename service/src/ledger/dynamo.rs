//! The processing log in DynamoDB. One item per upload:
//!
//! | attribute     | type | role                                             |
//! |---------------|------|--------------------------------------------------|
//! | `id`          | S    | table hash key; UUIDv7, so it sorts by time      |
//! | `log`         | S    | always `all`: hash key of `by_time`              |
//! | `status`      | S    | hash key of `by_status`                          |
//! | `uploader`    | S    | username; hash key of `by_uploader`              |
//! | `lease_until` | N    | ms since the epoch a worker owns `processing`    |
//! | `version`     | N    | optimistic-concurrency counter                   |
//! | `entry`       | S    | the whole entry as JSON                          |
//!
//! All three GSIs use `id` as range key and project everything, so the log is
//! served newest first, filtered and paged with `id < cursor`, without a Scan.
//! Transitions read consistently, apply the shared rule and write back on
//! condition that `version` did not move; a lost race re-runs the rule.

use super::rules::{LeaseUntil, Rule};
use super::{KeyBinding, Ledger, LedgerError, LogEntry, LogPage, LogQuery, Status};
use async_trait::async_trait;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::client::Waiters;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue, BillingMode, GlobalSecondaryIndex, KeySchemaElement,
    KeyType, Projection, ProjectionType, ScalarAttributeType,
};
use std::collections::HashMap;
use std::time::Duration;
use uuid::Uuid;

pub const BY_TIME: &str = "by_time";
pub const BY_STATUS: &str = "by_status";
pub const BY_UPLOADER: &str = "by_uploader";
const LOG_PARTITION: &str = "all";
const MAX_RACES: usize = 8;

type Item = HashMap<String, AttributeValue>;

#[derive(Debug, Clone)]
pub struct DynamoLedger {
    client: Client,
    table: String,
}

impl DynamoLedger {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
        }
    }

    /// Creates the table with its indexes unless it exists (for emulators and
    /// trials; Terraform creates the same schema in production).
    pub async fn create_table_if_missing(&self) -> anyhow::Result<bool> {
        let exists = self
            .client
            .describe_table()
            .table_name(&self.table)
            .send()
            .await;
        match exists {
            Ok(_) => return Ok(false),
            Err(error)
                if error
                    .as_service_error()
                    .is_some_and(|e| e.is_resource_not_found_exception()) => {}
            Err(error) => return Err(error.into()),
        }
        let key = |name: &str, kind: KeyType| {
            KeySchemaElement::builder()
                .attribute_name(name)
                .key_type(kind)
                .build()
        };
        let string_attribute = |name: &str| {
            AttributeDefinition::builder()
                .attribute_name(name)
                .attribute_type(ScalarAttributeType::S)
                .build()
        };
        let index = |name: &str, hash: &str| -> anyhow::Result<GlobalSecondaryIndex> {
            Ok(GlobalSecondaryIndex::builder()
                .index_name(name)
                .key_schema(key(hash, KeyType::Hash)?)
                .key_schema(key("id", KeyType::Range)?)
                .projection(
                    Projection::builder()
                        .projection_type(ProjectionType::All)
                        .build(),
                )
                .build()?)
        };
        let mut request = self
            .client
            .create_table()
            .table_name(&self.table)
            .billing_mode(BillingMode::PayPerRequest)
            .key_schema(key("id", KeyType::Hash)?)
            .global_secondary_indexes(index(BY_TIME, "log")?)
            .global_secondary_indexes(index(BY_STATUS, "status")?)
            .global_secondary_indexes(index(BY_UPLOADER, "uploader")?);
        for name in ["id", "log", "status", "uploader"] {
            request = request.attribute_definitions(string_attribute(name)?);
        }
        request.send().await?;
        self.client
            .wait_until_table_exists()
            .table_name(&self.table)
            .wait(Duration::from_secs(120))
            .await?;
        Ok(true)
    }

    async fn read(&self, id: Uuid) -> Result<Option<(LogEntry, LeaseUntil, i64)>, LedgerError> {
        let item = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("id", AttributeValue::S(id.to_string()))
            .consistent_read(true)
            .send()
            .await
            .map_err(LedgerError::backend)?
            .item;
        item.map(|item| {
            Ok((
                entry_of(&item)?,
                number(&item, "lease_until"),
                number(&item, "version"),
            ))
        })
        .transpose()
    }

    /// Writes `item` if the stored version is still `version` (absent for a
    /// new item). `Ok(false)` when someone else wrote first.
    async fn write(&self, item: Item, version: Option<i64>) -> Result<bool, LedgerError> {
        let request = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item));
        let request = match version {
            Some(version) => request
                .condition_expression("#version = :version")
                .expression_attribute_names("#version", "version")
                .expression_attribute_values(":version", AttributeValue::N(version.to_string())),
            None => request.condition_expression("attribute_not_exists(id)"),
        };
        match request.send().await {
            Ok(_) => Ok(true),
            Err(error)
                if error
                    .as_service_error()
                    .is_some_and(|e| e.is_conditional_check_failed_exception()) =>
            {
                Ok(false)
            }
            Err(error) => Err(LedgerError::backend(error)),
        }
    }

    /// Queries one index newest first from `before`, applying `status_filter`,
    /// until `wanted` entries are found or the index ends.
    async fn query(
        &self,
        index: &str,
        hash: (&str, String),
        before: Option<Uuid>,
        status_filter: Option<Status>,
        wanted: usize,
        newest_first: bool,
    ) -> Result<Vec<LogEntry>, LedgerError> {
        let mut entries = Vec::new();
        let mut start: Option<Item> = None;
        loop {
            let mut request = self
                .client
                .query()
                .table_name(&self.table)
                .index_name(index)
                .scan_index_forward(!newest_first)
                .expression_attribute_names("#hash", hash.0)
                .expression_attribute_values(":hash", AttributeValue::S(hash.1.clone()))
                .set_exclusive_start_key(start.take())
                .limit(i32::try_from(wanted.clamp(1, 1000)).unwrap_or(1000));
            let mut condition = "#hash = :hash".to_owned();
            if let Some(before) = before {
                condition.push_str(" AND id < :before");
                request = request
                    .expression_attribute_values(":before", AttributeValue::S(before.to_string()));
            }
            if let Some(status) = status_filter {
                request = request
                    .filter_expression("#status = :status")
                    .expression_attribute_names("#status", "status")
                    .expression_attribute_values(
                        ":status",
                        AttributeValue::S(status.as_str().into()),
                    );
            }
            let page = request
                .key_condition_expression(condition)
                .send()
                .await
                .map_err(LedgerError::backend)?;
            for item in page.items() {
                entries.push(entry_of(item)?);
            }
            match page.last_evaluated_key {
                Some(key) if entries.len() < wanted => start = Some(key),
                _ => break,
            }
        }
        entries.truncate(wanted);
        Ok(entries)
    }
}

fn item_of(entry: &LogEntry, lease_until: LeaseUntil, version: i64) -> Result<Item, LedgerError> {
    let json = serde_json::to_string(entry).map_err(LedgerError::backend)?;
    Ok(HashMap::from([
        ("id".to_owned(), AttributeValue::S(entry.id.to_string())),
        (
            "log".to_owned(),
            AttributeValue::S(LOG_PARTITION.to_owned()),
        ),
        (
            "status".to_owned(),
            AttributeValue::S(entry.status.as_str().to_owned()),
        ),
        (
            "uploader".to_owned(),
            AttributeValue::S(entry.uploader.username.clone()),
        ),
        (
            "lease_until".to_owned(),
            AttributeValue::N(lease_until.to_string()),
        ),
        ("version".to_owned(), AttributeValue::N(version.to_string())),
        ("entry".to_owned(), AttributeValue::S(json)),
    ]))
}

fn entry_of(item: &Item) -> Result<LogEntry, LedgerError> {
    let json = item
        .get("entry")
        .and_then(|value| value.as_s().ok())
        .ok_or_else(|| LedgerError::backend(anyhow::anyhow!("item without an entry")))?;
    serde_json::from_str(json).map_err(LedgerError::backend)
}

fn number(item: &Item, name: &str) -> i64 {
    item.get(name)
        .and_then(|value| value.as_n().ok())
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

/// Request keys live in the log's table as items with no index attribute,
/// so no listing ever sees them.
const REQUEST_KEY_PREFIX: &str = "request-key#";

#[async_trait]
impl Ledger for DynamoLedger {
    async fn bind_request_key(
        &self,
        key: &str,
        id: Uuid,
        replacing: Option<Uuid>,
    ) -> Result<KeyBinding, LedgerError> {
        let item_id = AttributeValue::S(format!("{REQUEST_KEY_PREFIX}{key}"));
        let now = chrono::Utc::now().timestamp();
        let request = self
            .client
            .put_item()
            .table_name(&self.table)
            .item("id", item_id.clone())
            .item("entry", AttributeValue::S(id.to_string()))
            .item("bound_at", AttributeValue::N(now.to_string()));
        let request = match replacing {
            None => request.condition_expression("attribute_not_exists(id)"),
            Some(stale) => request
                .condition_expression("#entry = :stale")
                .expression_attribute_names("#entry", "entry")
                .expression_attribute_values(":stale", AttributeValue::S(stale.to_string())),
        };
        match request.send().await {
            Ok(_) => return Ok(KeyBinding::Bound),
            Err(error)
                if error
                    .as_service_error()
                    .is_some_and(|e| e.is_conditional_check_failed_exception()) => {}
            Err(error) => return Err(LedgerError::backend(error)),
        }
        let item = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("id", item_id)
            .consistent_read(true)
            .send()
            .await
            .map_err(LedgerError::backend)?
            .item
            .ok_or_else(|| LedgerError::backend(anyhow::anyhow!("request key vanished")))?;
        let bound = match item.get("entry") {
            Some(AttributeValue::S(text)) => text.parse().map_err(LedgerError::backend)?,
            _ => {
                return Err(LedgerError::backend(anyhow::anyhow!(
                    "request key without entry"
                )));
            }
        };
        let at = chrono::DateTime::from_timestamp(number(&item, "bound_at"), 0).unwrap_or_default();
        Ok(KeyBinding::Existing { id: bound, at })
    }

    async fn transition(&self, id: Uuid, rule: Rule) -> Result<Option<LogEntry>, LedgerError> {
        for _ in 0..MAX_RACES {
            let (mut entry, mut lease_until, version) =
                self.read(id).await?.ok_or(LedgerError::NotFound(id))?;
            if !rule(&mut entry, &mut lease_until)? {
                return Ok(None);
            }
            entry.updated_at = chrono::Utc::now();
            if self
                .write(item_of(&entry, lease_until, version + 1)?, Some(version))
                .await?
            {
                return Ok(Some(entry));
            }
        }
        Err(LedgerError::backend(anyhow::anyhow!(
            "entry {id} kept changing under us"
        )))
    }

    async fn insert(&self, entry: &LogEntry) -> Result<(), LedgerError> {
        if self.write(item_of(entry, 0, 1)?, None).await? {
            Ok(())
        } else {
            Err(LedgerError::Duplicate(entry.id))
        }
    }

    async fn get(&self, id: Uuid) -> Result<Option<LogEntry>, LedgerError> {
        Ok(self.read(id).await?.map(|(entry, _, _)| entry))
    }

    async fn list(&self, query: &LogQuery) -> Result<LogPage, LedgerError> {
        let wanted = query.limit as usize + 1;
        let (index, hash, filter) = match (&query.uploader, query.status) {
            (Some(uploader), status) => (BY_UPLOADER, ("uploader", uploader.clone()), status),
            (None, Some(status)) => (BY_STATUS, ("status", status.as_str().to_owned()), None),
            (None, None) => (BY_TIME, ("log", LOG_PARTITION.to_owned()), None),
        };
        let mut entries = self
            .query(index, hash, query.before, filter, wanted, true)
            .await?;
        let next = if entries.len() > query.limit as usize {
            entries.truncate(query.limit as usize);
            entries.last().map(|entry| entry.id)
        } else {
            None
        };
        Ok(LogPage { entries, next })
    }

    async fn unfinished(&self, limit: u32) -> Result<Vec<Uuid>, LedgerError> {
        let mut ids = Vec::new();
        for status in [Status::Pending, Status::Processing] {
            let hash = ("status", status.as_str().to_owned());
            let entries = self
                .query(BY_STATUS, hash, None, None, limit as usize, false)
                .await?;
            ids.extend(entries.into_iter().map(|entry| entry.id));
        }
        ids.sort();
        ids.truncate(limit as usize);
        Ok(ids)
    }
}
