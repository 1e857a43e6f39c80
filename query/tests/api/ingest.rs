//! `GET /api/v1/ingest/stats` over a small store with a dead letter.

use axum::http::StatusCode;
use weft_ingest::source::lag::{ConsumerLag, PartitionLag};
use weft_query::api::ApiConfig;
use weft_query::auth::Role;

use crate::common::{Fixture, platform_events, write_events};

const DEAD_LETTER: &str = "{\"received\":\"2026-11-23T08:00:00.000000Z\",\"reason\":\"not json: expected value at line 1\",\"origin\":\"file:/var/log/app.log\",\"offset\":12,\"line\":2,\"size\":5,\"raw_base64\":\"aGVsbG8=\",\"raw_preview\":\"hello\"}\n";

#[tokio::test]
async fn stats_count_events_segments_and_dead_letters() -> anyhow::Result<()> {
    let fixture = Fixture::with_config(ApiConfig::default(), |dir| {
        write_events(dir, &platform_events())?;
        std::fs::create_dir_all(dir.join("deadletter"))?;
        std::fs::write(dir.join("deadletter").join("run-1.ndjson"), DEAD_LETTER)?;
        Ok(())
    })?;
    let viewer = Some(fixture.token(Role::Viewer));
    let reply = fixture.get("/api/v1/ingest/stats", viewer).await;
    assert_eq!(
        reply.status,
        StatusCode::OK,
        "{}",
        String::from_utf8_lossy(&reply.body)
    );
    let stats = reply.json();
    assert!(
        stats["segments"]
            .as_u64()
            .is_some_and(|segments| segments >= 1)
    );
    assert_eq!(stats["events"], 7);
    assert_eq!(stats["newest_event"], "2026-11-23T10:20:00.000000Z");
    assert_eq!(stats["origins"][0]["origin"], "test");
    assert_eq!(stats["dead_letters"]["total"], 1);
    assert_eq!(stats["dead_letters"]["by_reason"]["not json"], 1);
    assert_eq!(
        stats["dead_letters"]["by_origin"]["file:/var/log/app.log"],
        1
    );

    // A second dead letter is counted on the next call (read on from the last one).
    let path = fixture.dir.path().join("deadletter").join("run-1.ndjson");
    std::fs::write(&path, format!("{DEAD_LETTER}{DEAD_LETTER}"))?;
    let again = fixture.get("/api/v1/ingest/stats", viewer).await.json();
    assert_eq!(again["dead_letters"]["total"], 2);

    fixture
        .get("/api/v1/ingest/stats?x=1", viewer)
        .await
        .assert_problem(StatusCode::BAD_REQUEST);
    Ok(())
}

#[tokio::test]
async fn lag_is_shown_only_where_a_worker_measures_it() -> anyhow::Result<()> {
    let alone = Fixture::with_config(ApiConfig::default(), |dir| {
        write_events(dir, &platform_events())
    })?;
    let stats = alone
        .get("/api/v1/ingest/stats", Some(alone.token(Role::Viewer)))
        .await
        .json();
    assert_eq!(stats["kafka_lag"]["known"], false);
    assert!(
        stats["notes"]
            .as_array()
            .is_some_and(|notes| notes.iter().any(|note| note
                .as_str()
                .is_some_and(|note| note.contains("lag is not known here")))),
        "{stats}"
    );
    assert!(stats["services_from"].is_string());

    let lag = ConsumerLag::default();
    lag.publish(
        1_795_435_200_000_000,
        vec![PartitionLag {
            topic: "logs".to_string(),
            partition: 0,
            next_offset: 40,
            high_watermark: 42,
            lag: 2,
        }],
    );
    let config = ApiConfig {
        consumer_lag: Some(lag),
        ..ApiConfig::default()
    };
    let beside = Fixture::with_config(config, |dir| write_events(dir, &platform_events()))?;
    let stats = beside
        .get("/api/v1/ingest/stats", Some(beside.token(Role::Viewer)))
        .await
        .json();
    assert_eq!(stats["kafka_lag"]["known"], true);
    assert_eq!(
        stats["kafka_lag"]["measured_at"],
        "2026-11-23T12:00:00.000000Z"
    );
    assert_eq!(stats["kafka_lag"]["partitions"][0]["lag"], 2);
    assert_eq!(stats["kafka_lag"]["partitions"][0]["high_watermark"], 42);
    Ok(())
}
