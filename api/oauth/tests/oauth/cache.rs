//! The access-token cache with real concurrency against the double.

use std::sync::Arc;
use std::time::Duration;

use postamt_oauth::*;
use serde_json::json;

use crate::flows::{authorize, client, ms_app};
use crate::support::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn twenty_concurrent_callers_share_one_request() {
    let p = ProviderDouble::start(microsoft_config());
    // A slow answer so all twenty are waiting while the one request is in flight.
    p.control("set", json!({"token_delay_ms": 300}));
    let c = client(&p);
    let cache = TokenCache::new();
    let key = CacheKey::for_app(&ms_app(), None);
    let app = ms_app();
    let mut tasks = Vec::new();
    for _ in 0..20 {
        let (c, cache, key, app) = (c.clone(), cache.clone(), key.clone(), app.clone());
        tasks.push(tokio::spawn(async move {
            cache
                .get_or_fetch(&key, || c.client_credentials(&app))
                .await
                .unwrap()
                .access_token
                .expose_secret()
                .to_owned()
        }));
    }
    let mut tokens = Vec::new();
    for t in tasks {
        tokens.push(t.await.unwrap());
    }
    tokens.dedup();
    assert_eq!(tokens.len(), 1, "every caller got the same token");
    assert_eq!(p.token_events().len(), 1, "one request at the provider");

    // Invalidate (the SMTP server said 535): the next caller fetches a new one.
    cache.invalidate(&key);
    assert!(cache.peek(&key).is_none());
    let t = cache.get_or_fetch(&key, || c.client_credentials(&app)).await.unwrap();
    assert_ne!(t.access_token.expose_secret(), &tokens[0]);
    assert_eq!(p.token_events().len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_failures_share_one_request_too() {
    let p = ProviderDouble::start(microsoft_config());
    p.control("set", json!({"token_delay_ms": 300}));
    let c = client(&p);
    let cache = TokenCache::new();
    let key = CacheKey::from_parts(&["bad"]);
    let mut app = ms_app();
    app.client_secret = Some(SecretString::from("wrong"));
    let mut tasks = Vec::new();
    for _ in 0..20 {
        let (c, cache, key, app) = (c.clone(), cache.clone(), key.clone(), app.clone());
        tasks.push(tokio::spawn(
            async move { cache.get_or_fetch(&key, || c.client_credentials(&app)).await.unwrap_err() },
        ));
    }
    for t in tasks {
        assert_eq!(t.await.unwrap().class, OAuthErrorClass::InvalidClientSecret);
    }
    assert_eq!(p.token_events().len(), 1);
}

#[tokio::test]
async fn refreshes_ahead_of_expiry() {
    let p = ProviderDouble::start(microsoft_config());
    // 3 s lifetime: refresh 0.3 s (10 %) before expiry.
    p.control("set", json!({"token_lifetime": 3}));
    let c = client(&p);
    let cache = TokenCache::new();
    let key = CacheKey::from_parts(&["short"]);
    let app = ms_app();
    let first = cache.get_or_fetch(&key, || c.client_credentials(&app)).await.unwrap();
    assert_eq!(first.expires_at - first.refresh_at, Duration::from_millis(300));
    let again = cache.get_or_fetch(&key, || c.client_credentials(&app)).await.unwrap();
    assert_eq!(again.access_token.expose_secret(), first.access_token.expose_secret());
    assert_eq!(p.token_events().len(), 1);
    // Still valid for ~0.2 s, but inside the refresh margin: a new token.
    tokio::time::sleep_until((first.refresh_at + Duration::from_millis(50)).into()).await;
    assert!(std::time::Instant::now() < first.expires_at);
    let next = cache.get_or_fetch(&key, || c.client_credentials(&app)).await.unwrap();
    assert_ne!(next.access_token.expose_secret(), first.access_token.expose_secret());
    assert_eq!(p.token_events().len(), 2);
}

/// The lead's delivery path: the fetch step refreshes with the stored (rotating) refresh
/// token and saves the new one before handing out the access token. Under concurrency every
/// refresh token must be used exactly once.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn rotating_refresh_under_concurrency_uses_each_refresh_token_once() {
    let p = ProviderDouble::start(microsoft_config());
    p.control("set", json!({"token_lifetime": 1}));
    let c = client(&p);
    let app = ms_app();
    let redirect = "http://127.0.0.1:1/cb";
    let (code, verifier) = authorize(&c, &app, redirect).await;
    let code = code.unwrap();
    let first = c.exchange_code(&app, &code, &verifier, redirect).await.unwrap();
    // Stands in for the database row holding the refresh token.
    let stored = Arc::new(tokio::sync::Mutex::new(first.refresh_token.unwrap()));
    let cache = TokenCache::new();
    let key = CacheKey::from_parts(&["microsoft", TENANT, "ms-app", USER]);

    for _round in 0..3 {
        let mut tasks = Vec::new();
        for _ in 0..20 {
            let (c, cache, key, app, stored) = (c.clone(), cache.clone(), key.clone(), app.clone(), stored.clone());
            tasks.push(tokio::spawn(async move {
                cache
                    .get_or_fetch(&key, || async move {
                        let mut row = stored.lock().await;
                        let t = c.refresh(&app, &row).await?;
                        if let Some(rotated) = &t.refresh_token {
                            *row = rotated.clone();
                        }
                        Ok(t)
                    })
                    .await
                    .unwrap()
            }));
        }
        for t in tasks {
            t.await.unwrap();
        }
        // 1 s tokens: past their refresh point before the next round.
        tokio::time::sleep(Duration::from_millis(1100)).await;
    }
    let refreshes: Vec<_> = p.token_events().into_iter().filter(|e| e["grant_type"] == "refresh_token").collect();
    assert_eq!(refreshes.len(), 3, "one refresh per round");
    let mut used: Vec<String> = refreshes.iter().map(|e| e["refresh_token_id"].as_str().unwrap().to_owned()).collect();
    assert!(refreshes.iter().all(|e| e["outcome"] == "ok"));
    used.sort();
    used.dedup();
    assert_eq!(used.len(), 3, "each refresh token used exactly once");
}
