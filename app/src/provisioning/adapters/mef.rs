//! Another provider's MEF LSO Sonata product-ordering API over HTTP.
use super::*;

/// Orders from another provider through its MEF LSO Sonata product-ordering API
/// (`productOrderingManagement/v10/productOrder`). Our idempotency key travels as the
/// order's `externalId`; the partner answers a repeated `externalId` with the order it
/// already has.
pub struct MefPartner {
    base: String,
    token: Option<String>,
    http: reqwest::Client,
}

pub const SONATA_ORDERS: &str = "mefApi/sonata/productOrderingManagement/v10/productOrder";

impl MefPartner {
    pub fn new(base: &str, token: Option<String>, timeout: Duration) -> Result<Self, AppError> {
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| AppError::internal("partner http client", e))?;
        Ok(Self { base: base.trim_end_matches('/').to_string(), token, http })
    }

    fn url(&self, tail: &str) -> String {
        format!("{}/{SONATA_ORDERS}{tail}", self.base)
    }

    async fn send(&self, req: reqwest::RequestBuilder) -> Result<Value, AdapterError> {
        let req = match &self.token {
            Some(t) => req.bearer_auth(t),
            None => req,
        };
        let res = req.send().await.map_err(|e| {
            AdapterError::Transient(if e.is_timeout() {
                "partner API did not answer in time".into()
            } else {
                format!("partner API unreachable: {e}")
            })
        })?;
        let status = res.status();
        let body: Value = res.json().await.unwrap_or(Value::Null);
        let message =
            body.get("message").or_else(|| body.get("reason")).and_then(|v| v.as_str()).unwrap_or("").to_string();
        if status.is_success() {
            Ok(body)
        } else if status.is_server_error() || status.as_u16() == 429 || status.as_u16() == 408 {
            Err(AdapterError::Transient(format!("partner API answered {status} {message}")))
        } else {
            Err(AdapterError::Permanent(format!("partner API refused the order: {status} {message}")))
        }
    }

    fn progress(body: &Value) -> Result<Progress, AdapterError> {
        let id = body
            .get("id")
            .and_then(|v| v.as_str())
            .ok_or_else(|| AdapterError::Transient("partner API answered without an order id".into()))?;
        let state = body.get("state").and_then(|v| v.as_str()).unwrap_or("acknowledged").to_string();
        let phase = match state.as_str() {
            "completed" => Phase::Ready,
            "failed" | "rejected" | "cancelled" => Phase::Failed(format!("The partner's order is {state}.")),
            _ => Phase::Working,
        };
        let mut refs = Map::new();
        refs.insert("partner_order_id".into(), json!(id));
        if let Some(p) = body.pointer("/productOrderItem/0/product/id").and_then(|v| v.as_str()) {
            refs.insert("partner_product_id".into(), json!(p));
        }
        Ok(Progress { external_ref: id.to_string(), provider_state: state, phase, refs })
    }

    async fn item_order(&self, r: &str, key: &str, action: &str, config: Value) -> Result<(), AdapterError> {
        let current = self.send(self.http.get(self.url(&format!("/{r}")))).await?;
        let product_id = current.pointer("/productOrderItem/0/product/id").and_then(|v| v.as_str()).unwrap_or(r);
        let body = json!({
            "externalId": key,
            "productOrderItem": [{
                "id": "1",
                "action": action,
                "product": {"id": product_id, "productConfiguration": config},
            }],
        });
        self.send(self.http.post(self.url("")).json(&body)).await?;
        Ok(())
    }
}

#[async_trait]
impl ProviderAdapter for MefPartner {
    fn name(&self) -> &'static str {
        "mef_partner"
    }

    fn validate(&self, intent: &Intent) -> Result<(), AdapterError> {
        if intent.bandwidth_mbps <= 0 {
            return Err(AdapterError::Permanent("Bandwidth must be positive.".into()));
        }
        Ok(())
    }

    async fn provision(&self, intent: &Intent, key: &str) -> Result<Progress, AdapterError> {
        let body = json!({
            "externalId": key,
            "description": format!("{} {}", intent.service_number, intent.leg_name),
            "productOrderItem": [{
                "id": "1",
                "action": "add",
                "product": {
                    "productConfiguration": {
                        "@type": "urn:mef:lso:spec:sonata:access-eline-ovc:v1.0.0:all",
                        "bandwidth": {"amount": intent.bandwidth_mbps, "units": "Mbps"},
                        "endpoint": intent.endpoint_name,
                        "location": intent.location,
                    }
                }
            }]
        });
        Self::progress(&self.send(self.http.post(self.url("")).json(&body)).await?)
    }

    async fn status(&self, r: &str) -> Result<Progress, AdapterError> {
        Self::progress(&self.send(self.http.get(self.url(&format!("/{r}")))).await?)
    }

    async fn modify_bandwidth(&self, r: &str, mbps: i64, key: &str) -> Result<(), AdapterError> {
        self.item_order(r, key, "modify", json!({"bandwidth": {"amount": mbps, "units": "Mbps"}})).await
    }

    async fn suspend(&self, r: &str, key: &str) -> Result<(), AdapterError> {
        self.item_order(r, key, "modify", json!({"administrativeState": "disabled"})).await
    }

    async fn resume(&self, r: &str, key: &str) -> Result<(), AdapterError> {
        self.item_order(r, key, "modify", json!({"administrativeState": "enabled"})).await
    }

    async fn terminate(&self, r: &str, key: &str) -> Result<(), AdapterError> {
        self.item_order(r, key, "delete", json!({})).await
    }

    async fn sync_inventory(&self, _tenant_id: &str) -> Result<Vec<(String, String)>, AdapterError> {
        let body = self.send(self.http.get(self.url(""))).await?;
        Ok(body
            .as_array()
            .map(|orders| {
                orders
                    .iter()
                    .filter_map(|o| Some((o.get("id")?.as_str()?.to_string(), o.get("state")?.as_str()?.to_string())))
                    .collect()
            })
            .unwrap_or_default())
    }

    async fn usage(
        &self,
        _r: &str,
        _from: chrono::DateTime<Utc>,
        _to: chrono::DateTime<Utc>,
    ) -> Result<Option<Usage>, AdapterError> {
        // Sonata product ordering carries no usage; the partner bills it on its invoice.
        Ok(None)
    }
}
