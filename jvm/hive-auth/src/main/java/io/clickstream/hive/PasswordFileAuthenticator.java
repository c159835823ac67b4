package io.clickstream.hive;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import javax.security.sasl.AuthenticationException;
import org.apache.hive.service.auth.PasswdAuthenticationProvider;

/**
 * HiveServer2's CUSTOM authentication: one user, whose password is a file (a compose secret).
 *
 * <p>The server and its clients read the same environment: {@code CLICKSTREAM_HIVE_USER} names the user,
 * {@code CLICKSTREAM_HIVE_PASSWORD_FILE} the file holding the password (a trailing newline is ignored).
 * The file is read at every login, so a rotated secret takes effect without a restart. Passwords are
 * compared in constant time. A server without either variable refuses every login: it never falls back to
 * no authentication.
 */
public final class PasswordFileAuthenticator implements PasswdAuthenticationProvider {
    static final String USER_VAR = "CLICKSTREAM_HIVE_USER";
    static final String PASSWORD_FILE_VAR = "CLICKSTREAM_HIVE_PASSWORD_FILE";

    private final String user;
    private final String passwordFile;

    public PasswordFileAuthenticator() {
        this(System.getenv(USER_VAR), System.getenv(PASSWORD_FILE_VAR));
    }

    PasswordFileAuthenticator(String user, String passwordFile) {
        this.user = user;
        this.passwordFile = passwordFile;
    }

    @Override
    public void Authenticate(String user, String password) throws AuthenticationException {
        if (this.user == null || this.user.isEmpty() || passwordFile == null || passwordFile.isEmpty()) {
            throw new AuthenticationException(
                "HiveServer2 has no user configured: set " + USER_VAR + " and " + PASSWORD_FILE_VAR);
        }
        byte[] expected = expected();
        byte[] given = password == null ? new byte[0] : password.getBytes(StandardCharsets.UTF_8);
        // Both compared, whatever the user: the time taken says nothing about which was wrong.
        boolean userMatches = MessageDigest.isEqual(this.user.getBytes(StandardCharsets.UTF_8),
            user == null ? new byte[0] : user.getBytes(StandardCharsets.UTF_8));
        boolean passwordMatches = MessageDigest.isEqual(expected, given);
        if (!(userMatches && passwordMatches) || expected.length == 0) {
            throw new AuthenticationException("Wrong user or password for HiveServer2");
        }
    }

    private byte[] expected() throws AuthenticationException {
        try {
            String text = Files.readString(Path.of(passwordFile), StandardCharsets.UTF_8);
            return text.strip().getBytes(StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new AuthenticationException("Cannot read HiveServer2's password file " + passwordFile, e);
        }
    }
}
