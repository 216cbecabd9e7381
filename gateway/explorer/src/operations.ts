/**
 * The operations the explorer opens as tabs on a first visit: the README's examples, named so
 * each tab says what it is. gateway/src/explorer.operations.test.ts checks that every one marked
 * `readme` is, names aside, an operation the README shows, so the two cannot drift apart.
 */
export interface ExampleOperation {
  query: string;
  variables?: string;
  /** The README shows this operation (compared without its name). */
  readme: boolean;
}

export const EXAMPLE_OPERATIONS: readonly ExampleOperation[] = [
  {
    readme: true,
    query: `# Posts from blog, each author's name from identity: one query, two subgraphs.
query Posts {
  posts(first: 5) {
    edges {
      node {
        id
        title
        author {
          id
          displayName
        }
      }
    }
  }
}
`,
  },
  {
    readme: true,
    query: `# The sign-in panel (the person icon on the left) runs this and puts the access token into
# the request headers: Authorization: Bearer <accessToken>.
mutation Login {
  login(email: "admin@example.com", password: "dev-admin-change-me") {
    accessToken
    refreshToken
    expiresIn
  }
}
`,
  },
  {
    readme: true,
    query: `# Who you are signed in as: your roles and what they grant.
query Me {
  me {
    roles {
      name
    }
    permissions
  }
}
`,
  },
  {
    readme: false,
    query: `# Needs blog.post.create (every signed-in user holds it). Watch the PostCreated tab meanwhile.
mutation CreatePost($input: CreatePostInput!) {
  createPost(input: $input) {
    id
    title
    author {
      displayName
    }
  }
}
`,
    variables: `{
  "input": {
    "title": "Hello from GraphiQL",
    "content": "Written in the gateway's own explorer."
  }
}
`,
  },
  {
    readme: true,
    query: `# Over graphql-ws on /graphql, with the same Authorization header. Run it, then create a post.
subscription PostCreated {
  postCreated {
    id
    title
    author {
      displayName
    }
  }
}
`,
  },
  {
    readme: true,
    query: `# Needs audit.event.read (the admin role holds it): newest first, filters combine.
query AuditEvents {
  auditEvents(filter: { actionPrefix: "identity.login", from: "2026-01-01T00:00:00Z" }, first: 20) {
    edges {
      node {
        action
        actor {
          id
          displayName
        }
        targetType
        targetId
        metadata
        ip
        occurredAt
      }
      cursor
    }
    pageInfo {
      hasNextPage
      endCursor
    }
    totalCount
  }
}
`,
  },
];
