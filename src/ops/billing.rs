//! Billing operations: paying an invoice (as a payment gateway, the control plane or, later,
//! whmcs.php would).

use crate::error::Result;
use crate::queue;
use crate::state::AppState;
use crate::store;

/// Marks unpaid invoice `id` paid by `gateway`; a deployment waiting for it continues at
/// once. Returns false when there is no such unpaid invoice.
pub async fn pay_invoice(state: &AppState, id: i64, gateway: &str) -> Result<bool> {
    let mut tx = store::begin_write(&state.db).await?;
    let paid = store::billing::mark_paid(&mut *tx, id, state.clock.now(), gateway).await?;
    if paid {
        store::deploy::wake_payment_wait(&mut tx, id, state.clock.now_ms()).await?;
        queue::commit(state, tx).await?;
    } else {
        tx.rollback().await?;
    }
    Ok(paid)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::test_support::{state, DEMO};

    #[tokio::test]
    async fn an_unpaid_invoice_is_paid_once() {
        let state = state().await;
        // An unknown invoice is no unpaid invoice.
        assert!(!pay_invoice(&state, 999_999, "banktransfer")
            .await
            .expect("pay"));
        // More than any credit covers: the invoice stays unpaid.
        let mut conn = state.db.acquire().await.expect("conn");
        let item = (
            "Hosting".to_owned(),
            40101,
            "a server".to_owned(),
            1_000_000_000,
        );
        let (id, paid) = store::billing::create(&mut conn, DEMO, &[item], state.clock.now())
            .await
            .expect("invoice");
        drop(conn);
        assert!(!paid);
        assert!(pay_invoice(&state, id, "banktransfer").await.expect("pay"));
        assert!(
            !pay_invoice(&state, id, "banktransfer").await.expect("pay"),
            "a paid invoice is not paid twice"
        );
    }
}
