// What several screens send: the failure members of every result union, as
// one fragment, and the secret writes and reveals that the secret screen,
// versions, roll back and import all use.
import { graphql } from './graphql.ts';

/** Any failure member of a result union: its code and message, and for a ValidationError its fields (`@_unmask`: read in place). */
export const FailureFields = graphql(`
  fragment Failure on Error @_unmask {
    code
    message
    ... on ValidationError {
      fields {
        path
        message
      }
    }
  }
`);

export const CreateSecret = graphql(
  `
    mutation CreateSecret($environment: String, $idempotencyKey: String, $input: CreateSecretInput!) {
      createSecret(environment: $environment, idempotencyKey: $idempotencyKey, input: $input) {
        __typename
        ... on CreateSecretSuccess {
          secret {
            id
            name
            version
          }
        }
        ...Failure
      }
    }
  `,
  [FailureFields],
);

export const UpdateSecret = graphql(
  `
    mutation UpdateSecret($environment: String, $id: ID!, $input: UpdateSecretInput!) {
      updateSecret(environment: $environment, id: $id, input: $input) {
        __typename
        ... on UpdateSecretSuccess {
          secret {
            id
            name
            version
          }
        }
        ...Failure
      }
    }
  `,
  [FailureFields],
);

export const RevealSecret = graphql(
  `
    query RevealSecret($environment: String, $id: ID!, $reason: String, $resolve: Boolean, $version: Int) {
      revealSecret(environment: $environment, id: $id, reason: $reason, resolve: $resolve, version: $version) {
        __typename
        ... on RevealSecretSuccess {
          value
          secret {
            version
          }
        }
        ...Failure
      }
    }
  `,
  [FailureFields],
);
