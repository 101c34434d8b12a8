use serde_json::json;

use crate::helpers::{TestApp, user};

#[tokio::test]
async fn create_then_read_back() {
    let app = TestApp::spawn().await;
    let created = app.create_user(&user("bjensen")).await;
    let id = created["id"].as_str().unwrap();
    let got = app.get(&format!("/Users/{id}")).await;
    assert_eq!(got.status, 200);
    assert_eq!(got.body["userName"], "bjensen");
    let _ = json!({});
}
