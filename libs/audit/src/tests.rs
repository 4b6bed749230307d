use casework_testkit::{Backend, TestDatabase, migrated_store};
use sea_orm::ConnectionTrait;

use super::*;

// The platform's tables alone, as every service's migrator starts.
casework_store::migrator![];

fn entry(who: &str, case: &str) -> Entry {
    Entry {
        who: who.into(),
        roles: vec!["role:caseworker".into()],
        action: Action::Read,
        what: vec![Subject::new("case", case)],
        purpose: "case-review".into(),
        recipient: String::new(),
        outcome: Outcome::Allowed,
    }
}

async fn execute(store: &Store, sql: &str) -> Result<(), sea_orm::DbErr> {
    store.writer().execute_unprepared(sql).await.map(|_| ())
}

async fn appended(backend: Backend) -> Option<(TestDatabase, Store, AuditLog)> {
    let (db, store) = migrated_store::<Migrator>(backend).await?;
    let log = AuditLog::start(store.clone());
    // Concurrent appends share commits; the chain stays one line.
    let mut tasks = Vec::new();
    for n in 0..40 {
        let log = log.clone();
        tasks.push(tokio::spawn(async move {
            log.append(entry(&format!("user-{}", n % 3), &format!("VV-{n}")))
                .await
        }));
    }
    for task in tasks {
        task.await.expect("join").expect("appended");
    }
    Some((db, store, log))
}

async fn a_chain_verifies_and_finds_who_read_what(backend: Backend) {
    let Some((_db, store, log)) = appended(backend).await else {
        return;
    };
    let checked = verify(store.connection()).await.expect("verify");
    assert_eq!(
        checked,
        Verification {
            records: 40,
            broken: None
        }
    );
    let read = log
        .find(&Query {
            subject: Some("VV-7".into()),
            limit: 10,
            ..Query::default()
        })
        .await
        .expect("find");
    assert_eq!(read.len(), 1);
    assert_eq!(read[0].entry, entry("user-1", "VV-7"));
    let by_user = log
        .find(&Query {
            who: Some("user-0".into()),
            from: Some(Utc::now() - chrono::Duration::minutes(1)),
            limit: 100,
            ..Query::default()
        })
        .await
        .expect("find");
    assert_eq!(by_user.len(), 14);
    assert!(by_user.windows(2).all(|w| w[0].seq < w[1].seq));
}

async fn records_cannot_be_changed_or_removed(backend: Backend) {
    let Some((_db, store, _log)) = appended(backend).await else {
        return;
    };
    for sql in [
        "UPDATE audit_records SET purpose = 'curiosity' WHERE seq = 3",
        "DELETE FROM audit_records WHERE seq = 3",
        "DELETE FROM audit_subjects",
    ] {
        let refused = execute(&store, sql).await.expect_err(sql);
        assert!(
            refused.to_string().contains("append-only"),
            "{sql}: {refused}"
        );
    }
}

/// Someone who can bypass the triggers (the database's owner, a copy of
/// the file) changes, removes or truncates: `verify` names the first broken link.
#[tokio::test]
async fn tampering_is_found_at_the_first_broken_link() {
    let tamper = |sql: &'static str| async move {
        let (_db, store, _log) = appended(Backend::Sqlite).await.expect("SQLite");
        for trigger in ["audit_records_no_update", "audit_records_no_delete"] {
            execute(&store, &format!("DROP TRIGGER {trigger}"))
                .await
                .expect("drop trigger");
        }
        execute(&store, sql).await.expect(sql);
        verify(store.connection()).await.expect("verify")
    };
    let changed = tamper("UPDATE audit_records SET purpose = 'curiosity' WHERE seq = 7").await;
    assert_eq!(changed.records, 6);
    let (seq, why) = changed.broken.expect("broken");
    assert_eq!(seq, 7);
    assert!(why.contains("was changed"), "{why}");

    let removed = tamper("DELETE FROM audit_records WHERE seq = 12").await;
    assert_eq!(removed.broken.expect("broken").0, 12);

    let truncated = tamper("DELETE FROM audit_records WHERE seq > 35").await;
    let (seq, why) = truncated.broken.expect("broken");
    assert_eq!(seq, 36);
    assert!(why.contains("removed from its end"), "{why}");

    // Rehashing a changed record does not help: the next one names the old hash.
    let rehashed = tamper("UPDATE audit_records SET hash = 'f00d' WHERE seq = 20").await;
    assert_eq!(rehashed.broken.expect("broken").0, 20);
}

/// Two instances of a service (two pools on one database) appending at
/// once make one chain: the head is taken under a lock.
async fn two_instances_append_one_chain(backend: Backend) {
    let Some((db, store, first)) = appended(backend).await else {
        return;
    };
    let other = AuditLog::start(
        Store::connect(&db.settings)
            .await
            .expect("a second instance's pool"),
    );
    let mut tasks = Vec::new();
    for n in 0..60 {
        let log = if n % 2 == 0 {
            first.clone()
        } else {
            other.clone()
        };
        tasks.push(tokio::spawn(async move {
            log.append(entry("racer", &format!("TV-{n}"))).await
        }));
    }
    for task in tasks {
        task.await.expect("join").expect("appended");
    }
    let checked = verify(store.connection()).await.expect("verify");
    assert_eq!(
        checked,
        Verification {
            records: 100,
            broken: None
        }
    );
}

/// On PostgreSQL the services connect as an application role that
/// `casework migrate` (as the schema's owner) granted only SELECT and INSERT
/// on the trail: it appends, but cannot change rows or drop the triggers.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_postgresql_the_application_role_appends_but_cannot_change_the_trail() {
    let Some(db) = TestDatabase::create(Backend::Postgres).await else {
        return;
    };
    let (owner, app) = ("casework_test_owner", "casework_test_app");
    let superuser = Store::connect(&db.settings).await.expect("connect");
    for role in [owner, app] {
        execute(
            &superuser,
            &format!(
                "DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{role}') \
                 THEN CREATE ROLE {role} LOGIN; END IF; END $$"
            ),
        )
        .await
        .expect("create role");
    }
    execute(
        &superuser,
        &format!("CREATE SCHEMA trail AUTHORIZATION {owner}"),
    )
    .await
    .expect("create schema");
    let as_role = |role: &str| {
        let mut url = url::Url::parse(&db.settings.url).expect("a URL");
        url.set_username(role).expect("a user");
        casework_store::DatabaseSettings::new(url.as_str()).with_schema("trail")
    };
    let owned = Store::connect(&as_role(owner)).await.expect("as the owner");
    owned
        .migrate::<Migrator>()
        .await
        .expect("migrate as the owner");
    owned.grant_to("trail", app).await.expect("grant");

    let store = Store::connect(&as_role(app))
        .await
        .expect("as the application");
    let log = AuditLog::start(store.clone());
    log.append(entry("ada", "VV-1"))
        .await
        .expect("the application appends");
    log.append(entry("ada", "VV-2"))
        .await
        .expect("the application appends");
    for (sql, says) in [
        (
            "UPDATE audit_records SET purpose = 'curiosity'",
            "permission denied",
        ),
        ("DELETE FROM audit_records", "permission denied"),
        ("TRUNCATE audit_records", "permission denied"),
        (
            "DROP TRIGGER audit_records_append_only ON audit_records",
            "must be owner",
        ),
        (
            "ALTER TABLE audit_records DISABLE TRIGGER ALL",
            "must be owner",
        ),
    ] {
        let refused = execute(&store, sql).await.expect_err(sql);
        assert!(refused.to_string().contains(says), "{sql}: {refused}");
    }
    assert_eq!(
        verify(store.connection()).await.expect("verify"),
        Verification {
            records: 2,
            broken: None
        }
    );
}

casework_testkit::on_both_backends!(
    a_chain_verifies_and_finds_who_read_what,
    records_cannot_be_changed_or_removed,
    two_instances_append_one_chain,
);
