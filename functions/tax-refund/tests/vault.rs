//! The account number under the stack's KMS key (moto's KMS): sealed, it is
//! neither the digits nor readable without the key, and it opens only for the
//! refund and citizen it was sealed for.

use devstack::TestStack;
use tax_refund::account::AccountNumber;
use tax_refund::vault::{Binding, Vault};

#[tokio::test]
async fn an_account_number_opens_only_for_the_refund_and_citizen_it_was_sealed_for() {
    // GIVEN the template's key on a fresh stack
    let stack = TestStack::new().await;
    let env = stack.env("tax-refund");
    let sdk = shared::aws::sdk_config(&env).await;
    let key = env.require("ACCOUNT_KEY_ID").unwrap();
    assert!(key.starts_with("arn:aws:kms:"), "{key}");
    let vault = Vault::new(aws_sdk_kms::Client::new(&sdk), key);
    let account = AccountNumber::parse("110-234-567890").unwrap();
    let mine = Binding {
        refund_id: "refund-1",
        user_id: "user-1",
    };
    // WHEN it is sealed
    let sealed = vault.seal(&account, mine).await.unwrap();
    // THEN the stored form holds no digits of it, and it opens as it was
    assert!(!sealed.contains("110234567890") && !sealed.contains("567890"));
    assert_eq!(vault.open(&sealed, mine).await.unwrap(), account);
    // AND copied onto another refund or citizen, it does not open
    for other in [
        Binding {
            refund_id: "refund-2",
            user_id: "user-1",
        },
        Binding {
            refund_id: "refund-1",
            user_id: "user-2",
        },
    ] {
        assert!(vault.open(&sealed, other).await.is_err(), "{other:?}");
    }
}
