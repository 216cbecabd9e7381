import { Resolver, Root, Subscription } from 'type-graphql';
import type { BlogContext } from '../context.js';
import { Post } from './post.entity.js';
import { postOf, type PostSnapshot } from './post.feed.js';

@Resolver()
export class PostSubscriptionResolver {
  @Subscription(() => Post, {
    description: 'Each post as it is published (through the gateway over graphql-ws); needs blog.post.read',
    subscribe: ({ context }) => (context as BlogContext).services.feed.stream(),
  })
  postCreated(@Root() snapshot: PostSnapshot): Post {
    return postOf(snapshot);
  }
}
