DROP TABLE `posts`;
